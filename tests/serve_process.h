// tests/serve_process.h — a `simkyc serve` child process on a free loopback port, for the
// hardening tests (test_slow_clients.cpp, test_privacy.cpp).  Its stderr (the log) goes to
// DIR/server.log.
#pragma once
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
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
    // The line is printed once bound, a moment before the server accepts: wait for /healthz so
    // that a signal sent right away is not lost (serve's stop() is a no-op before it runs).
    for (int i = 0; i < 200 && !answers(); ++i) usleep(50 * 1000);
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
  bool answers() const {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port_));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = false;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
      const char req[] = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
      timeval tv{1, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      char buf[16] = {};
      ok = ::send(fd, req, sizeof req - 1, MSG_NOSIGNAL) > 0 && ::recv(fd, buf, sizeof buf - 1, 0) > 0 &&
           std::string(buf).rfind("HTTP/1.1 200", 0) == 0;
    }
    ::close(fd);
    return ok;
  }

  std::filesystem::path dir_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace simkyc::test
