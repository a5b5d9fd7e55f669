// A `simkyc serve` child process for HTTP tests (real server, real SQLite, real models), and
// small request helpers.  (tests/test_api.cpp has its own copy of the process class.)
#pragma once
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "test_helpers.h"

namespace simkyc::test {

class ServeProcess {
 public:
  ServeProcess(const std::filesystem::path& dir, const std::string& config_json) : dir_(dir) {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "config.json") << config_json;
    int out[2];
    if (pipe(out) != 0) throw std::runtime_error("pipe");
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], 1);
      FILE* f = freopen((dir_ / "server.log").c_str(), "a", stderr);
      (void)f;
      close(out[0]);
      const std::string store = db(), config = (dir_ / "config.json").string();
      std::vector<std::string> args = {SIMKYC_BINARY, "--models", SIMKYC_MODEL_DIR, "serve", "--listen", "127.0.0.1:0",
                                       "--store", store, "--config", config, "--threads", "8"};
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
    if (p == std::string::npos) throw std::runtime_error("server did not start: " + line);
    port_ = std::stoi(line.substr(p + 10));
  }
  ~ServeProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  std::string db() const { return (dir_ / "simkyc.db").string(); }
  std::filesystem::path dir() const { return dir_; }
  int port() const { return port_; }
  httplib::Client client(const std::string& key) const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(120, 0);
    if (!key.empty()) c.set_default_headers({{"Authorization", "Bearer " + key}});
    return c;
  }
  std::string key(const std::string& op, const std::string& role) const {
    const auto r = run(std::string(SIMKYC_BINARY) + " --models " + model_dir() + " keys create --store " + db() +
                       " --operator " + op + " --role " + role + " --json 2>/dev/null");
    const auto j = nlohmann::json::parse(r.out, nullptr, false);
    return j.is_object() ? j.value("key", "") : "";
  }
  // Sends `request` as is (no header added) and returns the raw response.
  std::string raw(const std::string& request) const {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port_));
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd);
      return "";
    }
    for (std::size_t off = 0; off < request.size();) {
      const auto n = ::send(fd, request.data() + off, request.size() - off, MSG_NOSIGNAL);
      if (n <= 0) break;
      off += static_cast<std::size_t>(n);
    }
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) out.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
    return out;
  }

 private:
  std::filesystem::path dir_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace simkyc::test
