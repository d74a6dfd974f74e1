#pragma once
// Engine structs that travel through Qt signals (and QSignalSpy in tests).
#include <QMetaType>
#include <QVector>

#include "mantissa/metrics.hpp"
#include "mantissa/model.hpp"
#include "mantissa/trainer.hpp"

Q_DECLARE_METATYPE(mantissa::StepMetrics)
Q_DECLARE_METATYPE(mantissa::EpochMetrics)
Q_DECLARE_METATYPE(mantissa::RunEvent)
Q_DECLARE_METATYPE(mantissa::RunStart)
Q_DECLARE_METATYPE(mantissa::RunSummary)
Q_DECLARE_METATYPE(mantissa::Policy)
Q_DECLARE_METATYPE(mantissa::Provenance)
