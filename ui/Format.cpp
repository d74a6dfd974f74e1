#include "Format.hpp"

#include <QLocale>
#include <cmath>

#include "PlotTheme.hpp"
#include "mantissa/units.hpp"

namespace mantissa::ui {

QString fromView(std::string_view s) {
  return QString::fromUtf8(s.data(), qsizetype(s.size()));
}

QString formatCount(std::int64_t n) {
  return QLocale(QLocale::English).toString(qlonglong(n));
}

QString formatFlops(double flops) {
  static const char* units[] = {"FLOP", "kFLOP", "MFLOP", "GFLOP", "TFLOP", "PFLOP"};
  int u = 0;
  while (std::abs(flops) >= 1000.0 && u < 5) {
    flops /= 1000.0;
    ++u;
  }
  return QStringLiteral("%1 %2").arg(flops, 0, 'f', u == 0 ? 0 : 2).arg(QLatin1String(units[u]));
}

QString formatBytes(double bytes) {
  return QString::fromStdString(bytes_text(bytes));
}

QString formatScale(double scale) {
  // The engine's rule (loss_scale_text), with the plots' superscript for
  // the powers of two it writes as 2^k.
  const QString text = QString::fromStdString(loss_scale_text(scale));
  return text.startsWith(QLatin1String("2^")) ? powerOfTwoLabel(scale) : text;
}

QString formatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return QStringLiteral("–");
  // Short runs differ in their seconds: "0.42 s", "12.3 s", not "0:01" for all.
  if (seconds < 10) return QStringLiteral("%1 s").arg(seconds, 0, 'f', 2);
  if (seconds < 60) return QStringLiteral("%1 s").arg(seconds, 0, 'f', 1);
  const auto total = std::int64_t(std::llround(seconds));
  const std::int64_t h = total / 3600, m = (total / 60) % 60, s = total % 60;
  if (h > 0)
    return QStringLiteral("%1:%2:%3").arg(h).arg(m, 2, 10, QChar('0')).arg(s, 2, 10, QChar('0'));
  return QStringLiteral("%1:%2").arg(m).arg(s, 2, 10, QChar('0'));
}

QString fileNameStem(const QString& name) {
  QString out;
  for (const QChar c : name) {
    const bool keep = c.isLetterOrNumber() || c == QLatin1Char('.') || c == QLatin1Char('_') ||
                      c == QLatin1Char('+') || c == QLatin1Char('-');
    if (keep)
      out += c;
    else if (!out.endsWith(QLatin1Char('-')))
      out += QLatin1Char('-');
  }
  // No leading dot (a hidden file) and no trailing dot or dash.
  while (!out.isEmpty() && (out.front() == QLatin1Char('.') || out.front() == QLatin1Char('-')))
    out.remove(0, 1);
  while (!out.isEmpty() && (out.back() == QLatin1Char('.') || out.back() == QLatin1Char('-')))
    out.chop(1);
  return out.isEmpty() ? QStringLiteral("run") : out;
}

}  // namespace mantissa::ui
