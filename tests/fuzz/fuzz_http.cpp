// libFuzzer target for the HTTP request reader and multipart form parser as the server uses
// them: cpp-httplib (Debian's compiled library) parses the request line, headers, chunked or
// sized bodies and multipart/form-data, then the server's own body helpers from
// src/api/server.cpp (included, as in fuzz_api_body) read the fields and files each route reads.
// Build and run with scripts/fuzz.sh.
//
// Input: one raw HTTP request, sent as-is over a loopback TCP connection to the API's connection
// handling (GuardedServer, src/api/guarded_server.cpp: deadlines, header and body limits) in
// this process (its request rules included: 411 without a length, 413 for a declared length over
// the limit).  The client half-closes after sending, so a request
// that promises more body than it has ends at once instead of at the read timeout.  The target
// aborts when the server answers with a 5xx or does not answer at all.
//
// Coverage: Debian's libcpp-httplib is not instrumented, so libFuzzer sees coverage of the
// server's helpers only and ASan checks the library through its allocator and string/memory
// interceptors; the seeds (tests/fuzz/corpus/http/) carry the multipart shapes.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <thread>

#include "../../src/api/server.cpp"

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

int g_port = 0;

// The handler: every body route's reads, multipart or JSON, through the server's helpers.
void handle(const httplib::Request& req, httplib::Response& res) {
  using namespace simkyc;
  // Every field any body route accepts, images allowed (server.cpp's handlers each pass their own).
  static const BodyRule kAnyRoute{{"channel", "device_id", "reverify_number", "id_number", "mrz", "phone_number",
                                   "resolution", "comment", "role", "version", "accepted", "portrait", "image",
                                   "frames", "capture"},
                                  true};
  auto body = json_body(req, kAnyRoute);
  if (!body) return send_error(res, body.error());
  for (const char* name : {"channel", "device_id", "reverify_number", "id_number", "mrz", "phone_number",
                           "resolution", "comment", "role", "version"})
    (void)field(req, *body, name);
  for (const char* name : {"portrait", "image"}) {
    auto img = image_field(req, *body, name);
    if (!img) {
      require(img.error().reason == Reason::kBadRequest);
      continue;
    }
    (void)sniff_format(*img);
  }
  auto frames = challenge_frames(req, *body);
  if (!frames) return send_error(res, frames.error());
  if (req.is_multipart_form_data()) {
    // What httplib hands the server: every part's name, filename, type and content.
    for (const auto& [name, file] : req.files) (void)(name.size() + file.filename.size() + file.content_type.size());
  }
  send(res, 200, {{"ok", true}});
}

void start_server() {
  simkyc::ConnectionLimits limits;
  limits.max_body_bytes = 1u << 20;
  limits.header_timeout_s = limits.idle_timeout_s = limits.body_timeout_s = 2;
  static simkyc::GuardedServer server(limits, "", "");
  server.Post(R"(/v1/sessions/([A-Za-z0-9_]+)/(document|live|consent|registrations))", handle);
  server.Post("/v1/sessions", handle);
  server.Post(R"(/v1/reviews/([A-Za-z0-9_]+)/resolve)", handle);
  server.Post("/v1/keys", handle);
  g_port = server.bind_to_any_port("127.0.0.1");
  require(g_port > 0);
  std::thread([] { server.listen_after_bind(); }).detach();
}

// Sends the request, half-closes, returns the status code of the answer (0: none).
int exchange(const std::uint8_t* data, std::size_t size) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  require(fd >= 0);
  // Closed with a reset, so that no TIME_WAIT is left behind: hundreds of connections a second
  // would otherwise use up the loopback ports within a minute (connect() then fails).
  const linger reset{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(g_port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  require(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);   // the server is up
  std::size_t off = 0;
  while (off < size) {
    const ssize_t n = ::send(fd, data + off, size - off, MSG_NOSIGNAL);
    if (n <= 0) break;   // the server may answer (413, 400) and close before reading it all
    off += static_cast<std::size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  std::string reply;
  char buf[4096];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 10000) <= 0) break;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    reply.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  if (reply.size() < 12 || reply.compare(0, 9, "HTTP/1.1 ") != 0) return 0;
  return std::atoi(reply.c_str() + 9);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  start_server();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const int status = exchange(data, size);
  // httplib closes a connection without answering when the request line cannot be read at all
  // (e.g. only whitespace); anything it did answer is below 500.
  require(status < 500);
  return 0;
}
