#include "train/rank_agreement.hpp"

#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "core/rng.hpp"
#include "mantissa/error.hpp"

namespace mantissa {

void check_ranks_agree(Collective& c, const Project& project, const Backend& backend,
                       const std::vector<Param*>& params, std::int64_t total_steps,
                       ReduceOrder reduce_order, std::uint64_t data_fingerprint) {
  const TrainingSpec& t = project.training;
  std::string shapes;
  for (const Param* p : params) shapes += p->name + p->master.shape().str() + ";";
  Project settings = project;  // what must agree beyond the named fields
  settings.file.clear();
  settings.training.backend.clear();
  std::string device = backend.description();
  device = device.substr(0, device.find(" ("));  // the model, not its thread count
  const std::vector<std::pair<std::string, std::string>> fields = {
      {"policy", std::string(policy_name(t.policy))},
      {"seed", std::to_string(t.seed)},
      {"batch size", std::to_string(t.batch_size)},
      {"steps", std::to_string(total_steps)},
      {"parameter shapes", shapes},
      {"backend", backend.name().substr(0, backend.name().find(':'))},
      {"device model", device},
      {"reduce order", std::string(reduce_order_name(reduce_order))},
      // (a digest that is the same in every build: seed_for is FNV-1a)
      {"project", std::to_string(seed_for(0, project_to_json(settings)))},
      {"training data", std::to_string(data_fingerprint)},
  };
  nlohmann::json mine = nlohmann::json::array();
  for (const auto& f : fields) mine.push_back(f.second);
  const std::vector<std::string> all = c.all_gather(mine.dump());
  const nlohmann::json first = nlohmann::json::parse(all[0]);
  for (std::size_t k = 0; k < fields.size(); ++k) {
    const std::string& name = fields[k].first;
    // Long values (shapes, the project's digest) are named, not printed.
    const bool print = name != "parameter shapes" && name != "project" && name != "training data";
    std::string differ;
    for (std::size_t r = 1; r < all.size(); ++r) {
      const nlohmann::json theirs = nlohmann::json::parse(all[r]);
      if (theirs[k] == first[k]) continue;
      differ += (differ.empty() ? "rank " : ", rank ") + std::to_string(r);
      if (print) differ += " has " + theirs[k].get<std::string>();
    }
    if (!differ.empty())
      throw InputError("the ranks disagree on the " + name + ": " + differ +
                       (print ? ", rank 0 has " + first[k].get<std::string>()
                              : (differ.find(',') == std::string::npos ? " differs" : " differ") +
                                    std::string(" from rank 0")) +
                       "; every rank must train the same project the same way");
  }
}

}  // namespace mantissa
