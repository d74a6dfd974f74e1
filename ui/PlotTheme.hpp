#pragma once
// How every studio plot looks: colours taken from the widget's palette (so a
// dark system theme gives dark plots), fonts from the application, and the
// base-2 tick labels used for loss scales.
#include <qcustomplot.h>

namespace mantissa::ui {

// Axes, grid, legend and title colours from `plot`'s current palette. Call
// again on QEvent::PaletteChange.
void applyPlotTheme(QCustomPlot* plot);

// Log axis ticks at powers of two, labelled 2⁰, 2¹⁶, 2²⁴ (loss scales).
class PowerOfTwoTicker : public QCPAxisTickerLog {
 public:
  PowerOfTwoTicker();

 protected:
  QString getTickLabel(double tick, const QLocale& locale, QChar formatChar,
                       int precision) override;
};

// "2¹⁶" for 65536, "0.5" style for values that are not powers of two.
QString powerOfTwoLabel(double value);

}  // namespace mantissa::ui
