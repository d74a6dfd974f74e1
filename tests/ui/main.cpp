// Runs one suite of the studio's tests: mantissa_ui_tests <suite> [QtTest options].
// Without a suite name every suite runs.
#include <QApplication>
#include <QTest>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <string>

#include "MetricTypes.hpp"

int runLivePlotsTests(int argc, char** argv);
int runDocumentTests(int argc, char** argv);
int runControllerTests(int argc, char** argv);
int runMainWindowTests(int argc, char** argv);
int runKeyboardTests(int argc, char** argv);
int runHistoryTests(int argc, char** argv);
int runCompareTests(int argc, char** argv);
int runModelCanvasTests(int argc, char** argv);
int runWeightsExportTests(int argc, char** argv);
int runDatasetPageTests(int argc, char** argv);
int runRunPanelsTests(int argc, char** argv);
int runWorkflowTests(int argc, char** argv);
int runDatabaseGuardTests(int argc, char** argv);
int runRunDatabaseTests(int argc, char** argv);
int runServicesTests(int argc, char** argv);

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QApplication::setOrganizationName(QStringLiteral("MantissaTests"));
  const std::map<std::string, std::function<int(int, char**)>> suites{
      {"live_plots", runLivePlotsTests},
      {"document", runDocumentTests},
      {"controller", runControllerTests},
      {"main_window", runMainWindowTests},
      {"keyboard", runKeyboardTests},
      {"history", runHistoryTests},
      {"compare", runCompareTests},
      {"model_canvas", runModelCanvasTests},
      {"weights_export", runWeightsExportTests},
      {"dataset", runDatasetPageTests},
      {"run_panels", runRunPanelsTests},
      {"workflow", runWorkflowTests},
      {"database_guard", runDatabaseGuardTests},
      {"run_database", runRunDatabaseTests},
      {"services", runServicesTests},
  };
  if (argc > 1 && argv[1][0] != '-') {
    const auto it = suites.find(argv[1]);
    if (it == suites.end()) {
      std::fprintf(stderr, "unknown suite '%s'\n", argv[1]);
      return 2;
    }
    argv[1] = argv[0];  // QtTest sees: program [options]
    return it->second(argc - 1, argv + 1);
  }
  int failures = 0;
  for (const auto& [name, run] : suites) failures += run(argc, argv);
  return failures;
}
