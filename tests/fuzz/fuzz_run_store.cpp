// The run database: the input is written as runs.db (any stale -wal / -shm
// removed first), opened with RunStore, and everything a face reads from it is
// read: the run list, each run, its metrics, events and checkpoints (whose
// blobs also go through CheckpointReader). A damaged or foreign file must
// give mantissa::Error (StoreError names the file), never a crash.
#include <cstdint>
#include <optional>

#include "fuzz_util.hpp"
#include "mantissa/store.hpp"
#include "train/checkpoint.hpp"

namespace {

void remove_database(const std::filesystem::path& db) {
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"})
    std::filesystem::remove(db.string() + suffix, ec);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mantissa;
  static const fuzz::ScratchFile file("store", "-runs.db");
  const std::string name = file.path().string();
  // The store's code is owned elsewhere: messages that do not name the file
  // are reported (FUZZ NOTE) without stopping the run.
  constexpr auto lenient = fuzz::Names::Lenient;
  remove_database(file.path());
  file.write(data, size);

  StoreOptions options;
  options.busy_timeout = std::chrono::milliseconds(0);
  std::optional<RunStore> store;
  if (!fuzz::accepts([&] { store.emplace(file.path(), options); }, name, lenient)) return 0;

  std::vector<std::int64_t> ids;
  fuzz::accepts(
      [&] {
        for (const RunRecord& r : store->list_runs()) ids.push_back(r.id);
      },
      name, lenient);
  // Ids the list may have missed on a damaged page.
  for (std::int64_t id : {std::int64_t(1), std::int64_t(2), std::int64_t(3)}) ids.push_back(id);
  if (ids.size() > 16) ids.resize(16);

  for (std::int64_t id : ids) {
    fuzz::accepts([&] { (void)store->get_run(id); }, name, lenient);
    fuzz::accepts([&] { (void)store->step_metrics(id); }, name, lenient);
    fuzz::accepts([&] { (void)store->epoch_metrics(id); }, name, lenient);
    fuzz::accepts([&] { (void)store->events(id); }, name, lenient);
    fuzz::accepts([&] { (void)store->metrics_csv(id); }, name, lenient);
    std::vector<CheckpointInfo> checkpoints;
    fuzz::accepts([&] { checkpoints = store->checkpoints(id); }, name, lenient);
    if (checkpoints.size() > 4) checkpoints.resize(4);
    for (const CheckpointInfo& info : checkpoints) {
      std::optional<Checkpoint> c;
      fuzz::accepts([&] { c = store->checkpoint(id, info.step); }, name, lenient);
      if (c) fuzz::accepts([&] { CheckpointReader reader(c->data); });
    }
    fuzz::accepts([&] { (void)store->latest_checkpoint(id); }, name, lenient);
  }
  fuzz::accepts([&] { store->flush(); }, name, lenient);
  fuzz::accepts([&] { store.reset(); }, name, lenient);
  return 0;
}
