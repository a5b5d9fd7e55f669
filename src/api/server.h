// src/api/server.h — the HTTP JSON API (/v1, see docs/openapi.yaml) over the registration
// service, plus /healthz, /metrics and the static clerk console.
#pragma once
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "api/guarded_server.h"
#include "api/metrics.h"
#include "registry/service.h"

namespace simkyc {

struct ServerConfig {
  std::string host = "127.0.0.1";
  int port = 8080;                           // 0: pick a free port (see ApiServer::port())
  std::size_t max_body_bytes = 24u << 20;    // larger requests are refused with 413 before reading
  int threads = 8;                           // requests inside the service at once
  ConnectionLimits connections;              // open connections, read deadlines (guarded_server.h)
  std::string tls_cert, tls_key;             // both set: HTTPS
  std::string web_root;                      // static files for the console ("" = none)
  // Hint catalogues, one <lang>.json per language (Accept-Language picks); "" = web_root/i18n.
  std::string i18n_dir;
};

// A route of the API: method and OpenAPI path, e.g. {"POST", "/v1/sessions/{id}/live"}.
struct ApiRoute {
  std::string method, path;
};
// Ensures: every route the server answers (tests compare it with docs/openapi.yaml).  A known
// path with another method gets 405 with an Allow header.
std::vector<ApiRoute> api_routes();

// The HTTP status for an error reason (400, 401, 403, 404, 409, 410, 413, 422, 429, 500).
int http_status(Reason r);

class ApiServer {
 public:
  // Requires: service and metrics outlive the server.
  ApiServer(Service& service, Metrics& metrics, ServerConfig cfg);
  ~ApiServer();
  // Binds and serves until stop().  Errors: kConfigError (cannot bind, TLS files unreadable).
  Status run();
  // Binds only (so the port is known), for tests and for printing the address before serving.
  Status bind();
  int port() const;
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace simkyc
