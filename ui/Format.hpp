#pragma once
// Numbers as the studio shows them: counts with separators, FLOPs, bytes,
// durations. One place so that the inspector, tables and status bar agree.
#include <QString>
#include <cstdint>
#include <string_view>

namespace mantissa::ui {

QString fromView(std::string_view s);
QString formatCount(std::int64_t n);     // "669,706"
QString formatFlops(double flops);       // "1.33 MFLOP"
QString formatBytes(double bytes);       // "3.1 KiB", "41.2 MiB"
QString formatScale(double scale);       // a loss scale: "512", "2²⁴", "3000"
QString formatDuration(double seconds);  // "0.42 s", "42.0 s", "3:07", "1:02:05"
// A name made fit to start a file name on every system: letters, digits and
// . _ + - kept, every other run of characters one '-'; "run" when nothing is
// left. "fp16 baseline / v2" → "fp16-baseline-v2".
QString fileNameStem(const QString& name);

}  // namespace mantissa::ui
