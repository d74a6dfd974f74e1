#pragma once
// Toolbar and list icons drawn as vectors at whatever size and device pixel
// ratio they are asked for, in the palette's text colour unless a colour is
// given: sharp on high-DPI screens, right in dark and light palettes, and no
// image plugin needed.
#include <QColor>
#include <QIcon>

namespace mantissa::ui {

enum class Glyph { Play, Pause, Stop, Compare, Dot, Triangle };

QIcon glyphIcon(Glyph glyph, const QColor& color = QColor());

}  // namespace mantissa::ui
