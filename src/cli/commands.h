// src/cli/commands.h — the `simkyc` subcommands.  The CLI is thin: it parses, calls the library
// and formats.  Each add_*_commands() registers its subcommands on `app`; a subcommand's callback
// stores its process exit code in ctx.exit_code (0 pass/valid, 1 fail/review/invalid,
// 2 usage or input error).
#pragma once
#include <string>

#include <CLI/CLI.hpp>

namespace simkyc::cli {

struct Context {
  std::string model_dir;   // --models, default from SIMKYC_MODELS or the build's model dir
  int exit_code = 0;
};

void add_face_commands(CLI::App& app, Context& ctx);      // detect, quality, compare, verify
void add_eval_commands(CLI::App& app, Context& ctx);      // eval, calibrate
void add_detect_eval_commands(CLI::App& app, Context& ctx);  // detect-eval
void add_bench_commands(CLI::App& app, Context& ctx);     // bench
void add_document_commands(CLI::App& app, Context& ctx);  // document check, document portrait
void add_serve_commands(CLI::App& app, Context& ctx);     // serve
void add_loadtest_commands(CLI::App& app, Context& ctx);  // loadtest
void add_registry_commands(CLI::App& app, Context& ctx);  // keys create/revoke, audit verify, purge
void add_liveness_commands(CLI::App& app, Context& ctx);  // liveness eval, calibrate, check, challenge
void add_copy_commands(CLI::App& app, Context& ctx);      // copy-check

}  // namespace simkyc::cli
