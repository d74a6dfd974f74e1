#pragma once
// The Data menu: the dataset page and the evaluation of the run selected in
// History, each in its own non-modal window; the numerics of the run in
// progress, live.
class QMainWindow;

namespace mantissa::ui {

class HistoryPage;
class ProjectDocument;
class TrainingController;

void installDataMenu(QMainWindow* window, ProjectDocument* document, HistoryPage* history,
                     TrainingController* controller);

}  // namespace mantissa::ui
