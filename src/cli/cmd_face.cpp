#include "cli/commands.h"

namespace simkyc::cli {
void add_face_commands(CLI::App& /*app*/, Context& /*ctx*/) {}
}  // namespace simkyc::cli
