#include "api/guarded_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <string_view>
#include <thread>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "core/reason.h"

namespace simkyc {
namespace {

using Clock = std::chrono::steady_clock;

thread_local bool t_close_requested = false;
// Bytes the lingering close may read after a refusal: a client that declared a body over the limit
// writes it all before it reads the 413, so up to its declared length (bounded); otherwise 256 KiB.
thread_local std::size_t t_drain_bytes = 256u << 10;

std::string peer_ip(socket_t sock) {
  sockaddr_storage a{};
  socklen_t len = sizeof a;
  if (::getpeername(sock, reinterpret_cast<sockaddr*>(&a), &len) != 0) return "?";
  char buf[INET6_ADDRSTRLEN] = {};
  if (a.ss_family == AF_INET)
    ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&a)->sin_addr, buf, sizeof buf);
  else if (a.ss_family == AF_INET6)
    ::inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&a)->sin6_addr, buf, sizeof buf);
  return buf;
}

void ip_and_port(socket_t sock, bool local, std::string& ip, int& port) {
  sockaddr_storage a{};
  socklen_t len = sizeof a;
  const int rc = local ? ::getsockname(sock, reinterpret_cast<sockaddr*>(&a), &len)
                       : ::getpeername(sock, reinterpret_cast<sockaddr*>(&a), &len);
  if (rc != 0) return;
  char buf[INET6_ADDRSTRLEN] = {};
  if (a.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<sockaddr_in*>(&a);
    ::inet_ntop(AF_INET, &v4->sin_addr, buf, sizeof buf);
    port = ntohs(v4->sin_port);
  } else if (a.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<sockaddr_in6*>(&a);
    ::inet_ntop(AF_INET6, &v6->sin6_addr, buf, sizeof buf);
    port = ntohs(v6->sin6_port);
  }
  ip = buf;
}

// A complete HTTP response with the API's JSON error body; the connection closes after it.
std::string error_response(int status, const char* status_text, Reason r) {
  const auto& i = info(r);
  const std::string body = nlohmann::json{{"code", i.code}, {"message", i.message}, {"hint", i.hint}}.dump();
  return "HTTP/1.1 " + std::to_string(status) + " " + status_text +
         "\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

int ms_until(Clock::time_point t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t - Clock::now()).count();
  return static_cast<int>(std::clamp<long long>(ms, 0, 24 * 3600 * 1000));
}

// One connection's byte stream (plain or TLS) with the read deadlines of ConnectionLimits.
class GuardedStream final : public httplib::Stream {
 public:
  GuardedStream(GuardedServer& server, socket_t sock, SSL* ssl, const ConnectionLimits& lim)
      : server_(server), sock_(sock), ssl_(ssl), lim_(lim) {}

  // Waits up to `seconds` for the first byte of a next request.  False: none (or closed).
  bool wait_request(int seconds) {
    if (dead_) return false;
    if (ssl_ && SSL_pending(ssl_) > 0) return true;
    pollfd p{sock_, POLLIN, 0};
    int rc;
    do rc = ::poll(&p, 1, seconds * 1000); while (rc < 0 && errno == EINTR);
    return rc > 0;
  }

  void start_request() {
    in_headers_ = true;
    crlf_state_ = 0;
    header_bytes_ = body_bytes_ = 0;
    deadline_ = Clock::now() + std::chrono::seconds(lim_.header_timeout_s);
  }

  bool dead() const { return dead_; }

  bool is_readable() const override { return !dead_; }
  bool is_writable() const override { return !dead_; }

  ssize_t read(char* ptr, size_t size) override {
    if (dead_ || size == 0) return -1;
    if (!(ssl_ && SSL_pending(ssl_) > 0)) {
      const int wait = std::min(lim_.idle_timeout_s * 1000, ms_until(deadline_));
      pollfd p{sock_, POLLIN, 0};
      int rc;
      do rc = ::poll(&p, 1, wait); while (rc < 0 && errno == EINTR);
      if (rc == 0) return fail(408, "Request Timeout", Reason::kRequestTimeout, true);
      if (rc < 0) return drop();
    }
    ssize_t n;
    if (ssl_) {
      n = SSL_read(ssl_, ptr, static_cast<int>(std::min<size_t>(size, 1 << 30)));
    } else {
      do n = ::recv(sock_, ptr, size, 0); while (n < 0 && errno == EINTR);
    }
    if (n <= 0) return drop();
    account(ptr, static_cast<size_t>(n));
    if (dead_) return -1;
    return n;
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (dead_) return -1;
    return raw_write(ptr, size);
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override { ip_and_port(sock_, false, ip, port); }
  void get_local_ip_and_port(std::string& ip, int& port) const override { ip_and_port(sock_, true, ip, port); }
  socket_t socket() const override { return sock_; }

 private:
  // Header end detection (CRLF CRLF, or bare LF LF) and the size limits.
  void account(const char* p, size_t n) {
    size_t i = 0;
    if (in_headers_) {
      for (; i < n; ++i) {
        const char c = p[i];
        if (c == '\r') continue;   // CR is optional before LF; ignore it for detection
        if (c == '\n') {
          if (++crlf_state_ == 2) {
            in_headers_ = false;
            ++i;
            deadline_ = Clock::now() + std::chrono::seconds(lim_.body_timeout_s);
            break;
          }
        } else {
          crlf_state_ = 0;
        }
      }
      header_bytes_ += i;
      if (in_headers_ && header_bytes_ > lim_.max_header_bytes) {
        fail(431, "Request Header Fields Too Large", Reason::kHeadersTooLarge, false);
        return;
      }
    }
    if (!in_headers_) {
      body_bytes_ += n - i;
      // Chunk framing adds a few bytes per chunk; 64 KiB of slack covers it.
      if (body_bytes_ > lim_.max_body_bytes + (64u << 10))
        fail(413, "Payload Too Large", Reason::kPayloadTooLarge, false);
    }
  }

  ssize_t fail(int status, const char* text, Reason r, bool timeout) {
    if (dead_) return -1;
    if (timeout) server_.count_timeout();
    const std::string resp = error_response(status, text, r);
    raw_write(resp.data(), resp.size());
    spdlog::info("http connection closed: status={} reason={}", status, code(r));
    return drop();
  }

  ssize_t drop() {
    dead_ = true;
    return -1;
  }

  ssize_t raw_write(const char* ptr, size_t size) {
    size_t off = 0;
    const auto until = Clock::now() + std::chrono::seconds(lim_.write_timeout_s);
    while (off < size) {
      pollfd p{sock_, POLLOUT, 0};
      int rc;
      do rc = ::poll(&p, 1, ms_until(until)); while (rc < 0 && errno == EINTR);
      if (rc <= 0) return drop();
      ssize_t n;
      if (ssl_) {
        n = SSL_write(ssl_, ptr + off, static_cast<int>(std::min<size_t>(size - off, 1 << 30)));
      } else {
        do n = ::send(sock_, ptr + off, size - off, MSG_NOSIGNAL); while (n < 0 && errno == EINTR);
      }
      if (n <= 0) {
        if (!ssl_ && n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) continue;
        return drop();
      }
      off += static_cast<size_t>(n);
    }
    return static_cast<ssize_t>(size);
  }

  GuardedServer& server_;
  socket_t sock_;
  SSL* ssl_;
  const ConnectionLimits& lim_;
  bool dead_ = false;
  bool in_headers_ = true;
  int crlf_state_ = 0;
  size_t header_bytes_ = 0, body_bytes_ = 0;
  Clock::time_point deadline_ = Clock::now();
};

// One thread per connection; shutdown() wakes open connections and waits for their threads.
class ConnectionThreads final : public httplib::TaskQueue {
 public:
  explicit ConnectionThreads(GuardedServer& s) : server_(s) {}
  void enqueue(std::function<void()> fn) override {
    {
      std::lock_guard lock(mu_);
      ++active_;
    }
    try {
      std::thread([this, fn] {
        fn();
        std::lock_guard lock(mu_);
        if (--active_ == 0) cv_.notify_all();
      }).detach();
    } catch (const std::system_error& e) {
      // No thread to be had: the task (which owns and closes the socket) runs here instead.
      spdlog::error("http: cannot start a connection thread: {}", e.what());
      {
        std::lock_guard lock(mu_);
        --active_;
      }
      fn();
    }
  }
  void shutdown() override {
    server_.close_all_connections();
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return active_ == 0; });
  }

 private:
  GuardedServer& server_;
  std::mutex mu_;
  std::condition_variable cv_;
  int active_ = 0;
};

}  // namespace

GuardedServer::GuardedServer(ConnectionLimits limits, const std::string& tls_cert, const std::string& tls_key)
    : limits_(limits) {
  new_task_queue = [this] { return new ConnectionThreads(*this); };
  set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) { return request_rules(req, res); });
  set_payload_max_length(limits_.max_body_bytes);
  set_keep_alive_timeout(limits_.keep_alive_s);
  set_read_timeout(limits_.idle_timeout_s, 0);
  set_write_timeout(limits_.write_timeout_s, 0);
  if (!tls_cert.empty() || !tls_key.empty()) {
    tls_wanted_ = true;
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    if (ctx && SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) == 1 &&
        SSL_CTX_use_certificate_chain_file(ctx, tls_cert.c_str()) == 1 &&
        SSL_CTX_use_PrivateKey_file(ctx, tls_key.c_str(), SSL_FILETYPE_PEM) == 1 &&
        SSL_CTX_check_private_key(ctx) == 1) {
      SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
      tls_ctx_ = ctx;
    } else {
      if (ctx) SSL_CTX_free(ctx);
      ERR_clear_error();
    }
  }
}

GuardedServer::~GuardedServer() {
  if (tls_ctx_) SSL_CTX_free(static_cast<SSL_CTX*>(tls_ctx_));
}

bool GuardedServer::is_valid() const { return !tls_wanted_ || tls_ctx_ != nullptr; }

void GuardedServer::close_after_response() { t_close_requested = true; }

httplib::Server::HandlerResponse GuardedServer::request_rules(const httplib::Request& req, httplib::Response& res) {
  auto refuse = [&res](int status, Reason r) {
    const auto& i = info(r);
    res.status = status;
    res.set_content(nlohmann::json{{"code", i.code}, {"message", i.message}, {"hint", i.hint}}.dump(), "application/json");
    res.set_header("Connection", "close");
    close_after_response();
    return HandlerResponse::Handled;
  };
  if (req.has_header("Content-Length")) {
    // cpp-httplib would read (and throw away) a body declared over the limit before answering.
    const std::string v = req.get_header_value("Content-Length");
    const bool digits = !v.empty() && v.size() <= 19 && v.find_first_not_of("0123456789") == std::string::npos;
    if (!digits) return refuse(400, Reason::kBadRequest);
    if (std::stoull(v) > limits_.max_body_bytes) {
      t_drain_bytes = std::min<std::size_t>(std::stoull(v), limits_.max_body_bytes + (8u << 20));
      return refuse(413, Reason::kPayloadTooLarge);
    }
    return HandlerResponse::Unhandled;
  }
  if (req.has_header("Transfer-Encoding")) return HandlerResponse::Unhandled;
  // Without either cpp-httplib reads a body until the client closes: a POST/PUT/PATCH must say
  // how long its body is; a DELETE without a length has none (RFC 9112 6.3).
  if (req.method == "POST" || req.method == "PUT" || req.method == "PATCH") return refuse(411, Reason::kLengthRequired);
  if (req.method == "DELETE") const_cast<httplib::Request&>(req).set_header("Content-Length", "0");
  return HandlerResponse::Unhandled;
}

int GuardedServer::open_connections() const {
  std::lock_guard lock(mu_);
  return static_cast<int>(open_.size());
}

void GuardedServer::close_all_connections() {
  std::lock_guard lock(mu_);
  for (socket_t s : open_) ::shutdown(s, SHUT_RDWR);
}

bool GuardedServer::admit(socket_t sock, const std::string& ip) {
  std::lock_guard lock(mu_);
  if (static_cast<int>(open_.size()) >= limits_.max_connections) return false;
  int& n = per_address_[ip];
  if (n >= limits_.max_per_address) {
    if (n == 0) per_address_.erase(ip);
    return false;
  }
  ++n;
  open_.insert(sock);
  return true;
}

void GuardedServer::release(socket_t sock, const std::string& ip) {
  std::lock_guard lock(mu_);
  open_.erase(sock);
  if (auto it = per_address_.find(ip); it != per_address_.end() && --it->second <= 0) per_address_.erase(it);
}

bool GuardedServer::process_and_close_socket(socket_t sock) {
  const std::string ip = peer_ip(sock);
  if (!admit(sock, ip)) {
    bool global;
    {
      std::lock_guard lock(mu_);
      global = static_cast<int>(open_.size()) >= limits_.max_connections;
    }
    ++refused_;
    const std::string resp = global ? error_response(503, "Service Unavailable", Reason::kServiceBusy)
                                    : error_response(429, "Too Many Requests", Reason::kTooManyConnections);
    if (!tls_ctx_) (void)::send(sock, resp.data(), resp.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    spdlog::warn("http connection refused: {}", global ? "too many connections" : "too many connections from one address");
    ::shutdown(sock, SHUT_RDWR);
    ::close(sock);
    return true;
  }

  SSL* ssl = nullptr;
  bool ok = true;
  if (tls_ctx_) {
    // The handshake must finish within the header timeout.
    timeval tv{limits_.header_timeout_s, 0};
    ::setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    ssl = SSL_new(static_cast<SSL_CTX*>(tls_ctx_));
    ok = ssl && SSL_set_fd(ssl, sock) == 1 && SSL_accept(ssl) == 1;
    // Later reads wait in poll() first; a stalled TLS record still ends after the idle timeout.
    timeval idle{limits_.idle_timeout_s, 0};
    ::setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof idle);
    if (!ok) ERR_clear_error();
  }

  if (ok) {
    GuardedStream strm(*this, sock, ssl, limits_);
    for (std::size_t left = keep_alive_max_count_; left > 0; --left) {
      if (!strm.wait_request(left == keep_alive_max_count_ ? limits_.header_timeout_s : limits_.keep_alive_s)) break;
      strm.start_request();
      t_close_requested = false;
      bool closed = false;
      const bool written = process_request(strm, left == 1, closed, [ssl](httplib::Request& req) { req.ssl = ssl; });
      if (!written || closed || strm.dead() || t_close_requested) break;
    }
  }
  if (ssl) {
    if (ok) SSL_shutdown(ssl);
    SSL_free(ssl);
    ERR_clear_error();
  }
  release(sock, ip);
  // Lingering close: stop sending, then read what the client still sends for a moment, so that
  // its unread bytes do not turn into a reset that destroys the answer before it is read.
  ::shutdown(sock, SHUT_WR);
  if (!ssl) {
    char buf[4096];
    std::size_t drained = 0;
    // t_drain_bytes (see above), for at most 2 s.
    const std::size_t drain_limit = t_drain_bytes;
    t_drain_bytes = 256u << 10;
    const auto until = Clock::now() + std::chrono::milliseconds(2000);
    while (drained < drain_limit) {
      pollfd p{sock, POLLIN, 0};
      if (::poll(&p, 1, ms_until(until)) <= 0) break;
      const ssize_t n = ::recv(sock, buf, sizeof buf, 0);
      if (n <= 0) break;
      drained += static_cast<std::size_t>(n);
    }
  }
  ::close(sock);
  return true;
}

}  // namespace simkyc
