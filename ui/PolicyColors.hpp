#pragma once
// One colour per precision policy, everywhere in the studio (plots, tables,
// badges): the colour-blind-safe Okabe–Ito palette. Pure 16-bit policies share
// their family's colour and are drawn dashed. Where several runs share a plot
// (Compare), each run has its own colour instead and the policy is the line's
// dash and the marker's shape.
#include <QColor>
#include <QPen>
#include <QString>

#include "mantissa/precision.hpp"

namespace mantissa::ui {

namespace okabe_ito {
inline const QColor kBlue{0x00, 0x72, 0xB2};        // fp32
inline const QColor kOrange{0xE6, 0x9F, 0x00};      // fp16
inline const QColor kGreen{0x00, 0x9E, 0x73};       // bf16
inline const QColor kVermillion{0xD5, 0x5E, 0x00};  // skipped steps, errors
inline const QColor kSkyBlue{0x56, 0xB4, 0xE9};
inline const QColor kPurple{0xCC, 0x79, 0xA7};
inline const QColor kYellow{0xF0, 0xE4, 0x42};
inline const QColor kGrey{0x99, 0x99, 0x99};  // secondary series
}  // namespace okabe_ito

inline QColor policyColor(Policy p) {
  switch (p) {
    case Policy::Float32:
      return okabe_ito::kBlue;
    case Policy::MixedFloat16:
    case Policy::Float16:
      return okabe_ito::kOrange;
    case Policy::MixedBFloat16:
    case Policy::BFloat16:
      return okabe_ito::kGreen;
  }
  return okabe_ito::kGrey;
}

inline bool isPurePolicy(Policy p) {
  return p == Policy::Float16 || p == Policy::BFloat16;
}

inline Qt::PenStyle policyPenStyle(Policy p) {
  return isPurePolicy(p) ? Qt::DashLine : Qt::SolidLine;
}

inline QPen policyPen(Policy p, qreal width = 1.6) {
  return QPen(policyColor(p), width, policyPenStyle(p));
}

// Short names for toolbars, legends and tables.
inline QString policyLabel(Policy p) {
  switch (p) {
    case Policy::Float32:
      return QStringLiteral("FP32");
    case Policy::MixedFloat16:
      return QStringLiteral("FP16 (mixed)");
    case Policy::MixedBFloat16:
      return QStringLiteral("BF16 (mixed)");
    case Policy::Float16:
      return QStringLiteral("FP16 (pure)");
    case Policy::BFloat16:
      return QStringLiteral("BF16 (pure)");
  }
  return {};
}

// The colour of the `index`th run on a shared plot: the Okabe–Ito colours in
// an order that keeps neighbours apart (yellow, faint on a light background,
// last), then round again.
inline QColor runColor(int index) {
  static const QColor colors[] = {okabe_ito::kBlue,       okabe_ito::kOrange,
                                  okabe_ito::kGreen,      okabe_ito::kPurple,
                                  okabe_ito::kSkyBlue,    okabe_ito::kVermillion,
                                  okabe_ito::kYellow};
  constexpr int n = int(sizeof colors / sizeof colors[0]);
  return colors[((index % n) + n) % n];
}

// A policy as a line where colours name runs: float32 solid, float16 dashed,
// bfloat16 dotted; the pure 16-bit policies add a dot to their dash.
inline Qt::PenStyle policyLineStyle(Policy p) {
  switch (p) {
    case Policy::Float32:
      return Qt::SolidLine;
    case Policy::MixedFloat16:
      return Qt::DashLine;
    case Policy::Float16:
      return Qt::DashDotLine;
    case Policy::MixedBFloat16:
      return Qt::DotLine;
    case Policy::BFloat16:
      return Qt::DashDotDotLine;
  }
  return Qt::SolidLine;
}

inline const QColor& skippedStepColor() {
  return okabe_ito::kVermillion;
}

// A traced overflow: the op that went non-finite first, its marker on the
// loss-scale plot.
inline const QColor& overflowColor() {
  return okabe_ito::kVermillion;
}

}  // namespace mantissa::ui
