// tests/serve_process.h — a `simkyc serve` child process on a free loopback port, for the
// hardening tests (test_slow_clients.cpp, test_privacy.cpp).  Its stderr (the log) goes to
// DIR/server.log.
#pragma once
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

namespace simkyc::test {

class ServeProcess {
 public:
  // config_json is written to DIR/config.json; extra: more `serve` options.
  ServeProcess(const std::filesystem::path& dir, const std::string& config_json, std::vector<std::string> extra = {},
               const std::string& log_level = "info")
      : dir_(dir) {
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "config.json") << config_json;
    int out[2];
    if (pipe(out) != 0) throw std::runtime_error("pipe");
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], 1);
      const std::string log = (dir / "server.log").string();
      FILE* f = freopen(log.c_str(), "a", stderr);
      (void)f;
      close(out[0]);
      const std::string store = (dir / "simkyc.db").string(), config = (dir / "config.json").string();
      std::vector<std::string> args = {SIMKYC_BINARY, "--models", SIMKYC_MODEL_DIR, "--log-level", log_level, "serve",
                                       "--listen", "127.0.0.1:0", "--store", store, "--config", config};
      args.insert(args.end(), extra.begin(), extra.end());
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(SIMKYC_BINARY, argv.data());
      _exit(127);
    }
    close(out[1]);
    std::string line;
    char c;
    while (read(out[0], &c, 1) == 1 && c != '\n') line += c;
    close(out[0]);
    const auto p = line.find("127.0.0.1:");
    if (p == std::string::npos) throw std::runtime_error("server did not start: " + line + "\n" + log());
    port_ = std::stoi(line.substr(p + 10));
  }
  ~ServeProcess() { stop(SIGTERM); }
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  // Sends the signal and waits; returns the wait status (or -1 when not running).
  int stop(int sig) {
    if (pid_ <= 0) return -1;
    ::kill(pid_, sig);
    int st = 0;
    waitpid(pid_, &st, 0);
    pid_ = -1;
    return st;
  }
  int port() const { return port_; }
  std::filesystem::path dir() const { return dir_; }
  std::string log() const {
    std::ifstream f(dir_ / "server.log");
    return std::string(std::istreambuf_iterator<char>(f), {});
  }

 private:
  std::filesystem::path dir_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace simkyc::test
