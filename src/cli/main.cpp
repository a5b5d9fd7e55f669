// simkyc — the command-line entry point.  See `simkyc --help`.
#include <csignal>
#include <cstdlib>
#include <exception>
#include <iostream>

#include <spdlog/spdlog.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include "cli/commands.h"

int main(int argc, char** argv) {
  using namespace simkyc::cli;
  // A peer that closes its socket while we write (a client gone mid-answer, a refused body) is an
  // error return (EPIPE), not a reason to die.
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"simkyc — face verification for mobile-number registration.\n"
               "Compares a consenting customer's live face with their own identity document."};
  app.set_version_flag("--version", std::string("simkyc ") + SIMKYC_VERSION);
  app.require_subcommand(1);
  app.fallthrough();

  Context ctx;
  if (const char* env = std::getenv("SIMKYC_MODELS"); env && *env) ctx.model_dir = env;
  else ctx.model_dir = SIMKYC_DEFAULT_MODEL_DIR;
  app.add_option("--models", ctx.model_dir, "Model directory (holds manifest.json)")
      ->capture_default_str();
  std::string log_level = "warn";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error, off")
      ->capture_default_str();
  spdlog::set_default_logger(spdlog::stderr_color_mt("simkyc"));
  spdlog::set_level(spdlog::level::warn);
  app.parse_complete_callback([&] { spdlog::set_level(spdlog::level::from_str(log_level)); });

  add_face_commands(app, ctx);
  add_eval_commands(app, ctx);
  add_detect_eval_commands(app, ctx);
  add_bench_commands(app, ctx);
  add_document_commands(app, ctx);
  add_serve_commands(app, ctx);
  add_loadtest_commands(app, ctx);
  add_registry_commands(app, ctx);
  add_liveness_commands(app, ctx);
  add_copy_commands(app, ctx);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  }
  return ctx.exit_code;
}
