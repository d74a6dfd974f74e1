#include "PlotTheme.hpp"

#include <cmath>

namespace mantissa::ui {

namespace {

void styleAxis(QCPAxis* axis, const QColor& fg, const QColor& grid, const QFont& font) {
  const QPen pen(fg, 1);
  axis->setBasePen(pen);
  axis->setTickPen(pen);
  axis->setSubTickPen(pen);
  axis->setLabelColor(fg);
  axis->setTickLabelColor(fg);
  axis->setTickLabelFont(font);
  axis->setLabelFont(font);
  axis->grid()->setPen(QPen(grid, 1, Qt::DotLine));
  axis->grid()->setSubGridVisible(false);
  axis->grid()->setZeroLinePen(Qt::NoPen);
}

}  // namespace

void applyPlotTheme(QCustomPlot* plot) {
  const QPalette pal = plot->palette();
  const QColor bg = pal.color(QPalette::Base);
  const QColor fg = pal.color(QPalette::Text);
  QColor grid = fg;
  grid.setAlpha(60);
  QFont font = plot->font();
  plot->setBackground(bg);
  plot->axisRect()->setBackground(bg);
  for (QCPAxis* axis : plot->axisRect()->axes()) styleAxis(axis, fg, grid, font);
  QColor legendBg = bg;
  legendBg.setAlpha(210);
  plot->legend->setBrush(legendBg);
  plot->legend->setBorderPen(QPen(grid));
  plot->legend->setTextColor(fg);
  QFont small = font;
  small.setPointSizeF(font.pointSizeF() * 0.9);
  plot->legend->setFont(small);
  for (int i = 0; i < plot->plotLayout()->elementCount(); ++i) {
    if (auto* title = qobject_cast<QCPTextElement*>(plot->plotLayout()->elementAt(i)))
      title->setTextColor(fg);
  }
}

PowerOfTwoTicker::PowerOfTwoTicker() {
  setLogBase(2);
  setSubTickCount(0);
  setTickCount(6);
}

QString PowerOfTwoTicker::getTickLabel(double tick, const QLocale& locale, QChar formatChar,
                                       int precision) {
  const QString label = powerOfTwoLabel(tick);
  if (!label.isEmpty()) return label;
  return QCPAxisTickerLog::getTickLabel(tick, locale, formatChar, precision);
}

QString powerOfTwoLabel(double value) {
  if (!(value > 0) || !std::isfinite(value)) return {};
  int exp = 0;
  const double mant = std::frexp(value, &exp);
  if (mant != 0.5) return {};
  const int power = exp - 1;
  static const QString digits = QStringLiteral("⁰¹²³⁴⁵⁶⁷⁸⁹");
  QString out = QStringLiteral("2");
  if (power < 0) out += QChar(0x207B);  // superscript minus
  const QString n = QString::number(std::abs(power));
  for (QChar c : n) out += digits.at(c.digitValue());
  return out;
}

}  // namespace mantissa::ui
