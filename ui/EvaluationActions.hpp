#pragma once
// The Data menu: the dataset page and the evaluation of the run selected in
// History, each in its own non-modal window.
class QMainWindow;

namespace mantissa::ui {

class HistoryPage;
class ProjectDocument;

void installDataMenu(QMainWindow* window, ProjectDocument* document, HistoryPage* history);

}  // namespace mantissa::ui
