#include "cli/commands.h"

namespace simkyc::cli {
void add_bench_commands(CLI::App& /*app*/, Context& /*ctx*/) {}
}  // namespace simkyc::cli
