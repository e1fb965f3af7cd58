// Auxiliary outputs of a run: what a training run writes beside its weights and checkpoints (reconstruction grids,
// metrics.jsonl, TensorBoard event files, prediction PNGs). A failure to write one must never end a training run
// (docs/architecture.md, "Auxiliary outputs"): it is reported as a warning that names the output and the error.
#pragma once

#include <functional>
#include <string>

namespace sgmim::engine {

/// Runs `write`, which produces the auxiliary output `what` (e.g. "reconstruction grid <path>"). Any exception it
/// throws (sgmim::Error, c10::Error, std::exception or anything else) is caught and logged as
/// "cannot write <what> (training goes on): <error>". Returns true when `write` completed.
bool write_auxiliary_output(const std::string& what, const std::function<void()>& write) noexcept;

}  // namespace sgmim::engine
