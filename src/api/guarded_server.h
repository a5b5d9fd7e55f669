// src/api/guarded_server.h — the HTTP(S) server under the API: cpp-httplib's request parsing and
// routing, with connection handling of our own so that slow, idle and never-ending clients
// cannot starve /healthz or other clients (issue 16).
//
// Every accepted connection gets its own thread (up to max_connections open at once; more are
// answered 503 and closed, more than max_per_address from one client IP 429).  Reads have
// deadlines: the request line and headers within header_timeout_s, no gap of idle_timeout_s
// while a request is read, the whole body within body_timeout_s; a kept-alive connection with no
// new request is closed after keep_alive_s.  A request that misses a deadline is answered 408,
// one whose headers exceed max_header_bytes 431, one whose body runs past max_body_bytes 413,
// each with the API's JSON error body, and its connection is closed.  A POST/PUT/PATCH without a
// Content-Length (or chunked encoding) is answered 411 at once.  The server installs its own
// pre-routing handler for this: do not replace it with set_pre_routing_handler.  How many requests run in
// the service at once is limited separately (ServerConfig::threads, in server.cpp).
#pragma once
#include <atomic>
#include <cstddef>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include <httplib.h>

namespace simkyc {

struct ConnectionLimits {
  int max_connections = 512;         // open connections at once (each has a thread)
  int max_per_address = 32;          // open connections from one client IP address
  int header_timeout_s = 10;         // request line + headers must arrive within this
  int idle_timeout_s = 5;            // longest silence while a request is being read
  int body_timeout_s = 120;          // the whole body must arrive within this
  int keep_alive_s = 5;              // idle kept-alive connection closed after this
  int write_timeout_s = 10;          // a client that does not read its answer for this long is dropped
  std::size_t max_header_bytes = 64u << 10;
  std::size_t max_body_bytes = 24u << 20;
};

class GuardedServer : public httplib::Server {
 public:
  // tls_cert and tls_key (PEM files) both set: HTTPS (is_valid() is false when they cannot be used).
  GuardedServer(ConnectionLimits limits, const std::string& tls_cert, const std::string& tls_key);
  ~GuardedServer() override;
  bool is_valid() const override;

  // From a handler: close this connection once its response is written.
  static void close_after_response();
  // Open connections now (for tests and /metrics).
  int open_connections() const;
  // Connections refused for a limit, requests ended by a deadline or size limit, since start.
  std::uint64_t refused_connections() const { return refused_.load(); }
  std::uint64_t timed_out_requests() const { return timed_out_.load(); }

  // Used by the stream and the task queue (guarded_server.cpp).
  void count_timeout() { ++timed_out_; }
  void close_all_connections();

 private:
  bool process_and_close_socket(socket_t sock) override;
  // Before a body is read: 411 for a POST/PUT/PATCH without a length, 413 for a declared length
  // over the limit, 400 for a malformed one (installed as the pre-routing handler).
  HandlerResponse request_rules(const httplib::Request& req, httplib::Response& res);
  bool admit(socket_t sock, const std::string& ip);
  void release(socket_t sock, const std::string& ip);

  ConnectionLimits limits_;
  void* tls_ctx_ = nullptr;   // SSL_CTX*, or nullptr for plain HTTP
  bool tls_wanted_ = false;
  mutable std::mutex mu_;
  std::map<std::string, int> per_address_;
  std::set<socket_t> open_;
  std::atomic<std::uint64_t> refused_{0}, timed_out_{0};
};

}  // namespace simkyc
