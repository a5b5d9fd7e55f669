#include "cli/commands.h"

namespace simkyc::cli {
void add_eval_commands(CLI::App& /*app*/, Context& /*ctx*/) {}
}  // namespace simkyc::cli
