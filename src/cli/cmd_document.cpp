#include "cli/commands.h"

namespace simkyc::cli {
void add_document_commands(CLI::App& /*app*/, Context& /*ctx*/) {}
}  // namespace simkyc::cli
