// Protecting personal data at rest with libsodium.  See crypto.h for the contracts.
//
// Key hierarchy: one 32-byte master key (key file or environment) -> crypto_kdf sub-keys:
//   id 1: keyed BLAKE2b for look-up hashes, id 2: XChaCha20-Poly1305 for sealing.
// keyed_hash() input is length-prefixed "domain" + data, so ("ab","c") and ("a","bc") differ.
// seal() output is nonce (24 bytes) || ciphertext || tag (16 bytes); the context is the AD.
#include "registry/crypto.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace simkyc {
namespace {

constexpr char kKdfContext[crypto_kdf_CONTEXTBYTES + 1] = "simkyc_v";   // exactly 8 bytes
constexpr std::uint64_t kHashKeyId = 1;
constexpr std::uint64_t kSealKeyId = 2;
constexpr std::size_t kKeyBytes = 32;
constexpr std::size_t kMaxKeyFileBytes = 256;

static_assert(crypto_kdf_KEYBYTES == kKeyBytes);
static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == kKeyBytes);
static_assert(sizeof(kKdfContext) == crypto_kdf_CONTEXTBYTES + 1);

// libsodium must be initialised once before use; failure means no usable randomness: stop.
void ensure_sodium() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) {
      std::fputs("simkyc: libsodium could not be initialised\n", stderr);
      std::abort();
    }
  });
}

std::string to_hex(const unsigned char* data, std::size_t n) {
  std::string out(n * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), data, n);
  out.pop_back();
  return out;
}

void put_u64_le(unsigned char* out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<unsigned char>(v >> (8 * i));
}

std::string errno_text(int err) { return std::strerror(err); }

// Closes a file descriptor on scope exit.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

bool write_all(int fd, const std::string& s) {
  std::size_t done = 0;
  while (done < s.size()) {
    const ssize_t n = ::write(fd, s.data() + done, s.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// Creates `path` holding `content` with mode 0600, never replacing an existing file and never
// letting a reader see a half-written key: the key is written and synced under a temporary
// name, then hard-linked to `path` (link() fails when `path` exists).
// Returns 0, EEXIST when `path` already exists, or another errno value.
int create_key_file(const std::filesystem::path& path, const std::string& content) {
  const std::string tmp = path.string() + ".tmp." + random_hex(8);
  int err = 0;
  {
    Fd f(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (f.fd < 0) return errno;
    // The mode argument is filtered by the umask; make sure it is exactly 0600.
    if (::fchmod(f.fd, 0600) != 0 || !write_all(f.fd, content) || ::fsync(f.fd) != 0) err = errno;
  }
  if (err == 0 && ::link(tmp.c_str(), path.c_str()) != 0) err = errno;
  ::unlink(tmp.c_str());
  if (err == 0) {
    // Make the new directory entry durable too.
    auto dir = path.parent_path();
    if (dir.empty()) dir = ".";
    Fd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (d.fd >= 0) ::fsync(d.fd);
  }
  return err;
}

}  // namespace

Result<Vault> Vault::from_hex(std::string_view hex) {
  ensure_sodium();
  if (hex.size() != kKeyBytes * 2)
    return make_error(Reason::kConfigError, "the master key must be 64 hex characters");
  std::array<unsigned char, kKeyBytes> master{};
  std::size_t got = 0;
  const char* end = nullptr;
  if (sodium_hex2bin(master.data(), master.size(), hex.data(), hex.size(), nullptr, &got, &end) != 0 ||
      got != kKeyBytes || end != hex.data() + hex.size()) {
    sodium_memzero(master.data(), master.size());
    return make_error(Reason::kConfigError, "the master key must be 64 hex characters");
  }
  Vault v;
  v.hash_key_.resize(crypto_generichash_KEYBYTES);
  v.seal_key_.resize(crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
  crypto_kdf_derive_from_key(v.hash_key_.data(), v.hash_key_.size(), kHashKeyId, kKdfContext,
                             master.data());
  crypto_kdf_derive_from_key(v.seal_key_.data(), v.seal_key_.size(), kSealKeyId, kKdfContext,
                             master.data());
  sodium_memzero(master.data(), master.size());
  return v;
}

Result<Vault> Vault::from_key_file(const std::filesystem::path& path, bool create_if_missing,
                                   bool* created) {
  ensure_sodium();
  if (created) *created = false;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT)
      return make_error(Reason::kIoError, "key file " + path.string() + ": " + errno_text(errno));
    if (!create_if_missing)
      return make_error(Reason::kConfigError, "key file " + path.string() + " does not exist");
    std::array<unsigned char, kKeyBytes> key{};
    randombytes_buf(key.data(), key.size());
    std::string content = to_hex(key.data(), key.size()) + "\n";
    sodium_memzero(key.data(), key.size());
    const int err = create_key_file(path, content);
    sodium_memzero(content.data(), content.size());
    if (err == 0) {
      if (created) *created = true;
    } else if (err != EEXIST) {   // EEXIST: another process created it first; read theirs
      return make_error(Reason::kIoError, "cannot create key file " + path.string() + ": " + errno_text(err));
    }
  }

  Fd f(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (f.fd < 0)
    return make_error(Reason::kIoError, "cannot open key file " + path.string() + ": " + errno_text(errno));
  if (::fstat(f.fd, &st) != 0)
    return make_error(Reason::kIoError, "key file " + path.string() + ": " + errno_text(errno));
  if (!S_ISREG(st.st_mode))
    return make_error(Reason::kConfigError, "key file " + path.string() + " is not a regular file");
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return make_error(Reason::kConfigError,
                      "key file " + path.string() + " has mode " + mode +
                          ": it must not be accessible by group or others (run: chmod 600 " +
                          path.string() + ")");
  }
  std::string content(kMaxKeyFileBytes + 1, '\0');
  std::size_t got = 0;
  while (got < content.size()) {
    const ssize_t n = ::read(f.fd, content.data() + got, content.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      sodium_memzero(content.data(), content.size());
      return make_error(Reason::kIoError, "cannot read key file " + path.string() + ": " + errno_text(errno));
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got > kMaxKeyFileBytes) {
    sodium_memzero(content.data(), content.size());
    return make_error(Reason::kConfigError, "key file " + path.string() + " is too large for a key");
  }
  std::string_view text(content.data(), got);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ' ||
                           text.back() == '\t'))
    text.remove_suffix(1);
  auto v = from_hex(text);
  sodium_memzero(content.data(), content.size());
  if (!v)
    return make_error(Reason::kConfigError,
                      "key file " + path.string() + " must hold exactly 64 hex characters");
  return v;
}

std::string Vault::keyed_hash(std::string_view data, std::string_view domain) const {
  crypto_generichash_state st;
  crypto_generichash_init(&st, hash_key_.data(), hash_key_.size(), 32);
  unsigned char len[8];
  put_u64_le(len, domain.size());
  crypto_generichash_update(&st, len, sizeof len);
  crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(domain.data()), domain.size());
  put_u64_le(len, data.size());
  crypto_generichash_update(&st, len, sizeof len);
  crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  unsigned char out[32];
  crypto_generichash_final(&st, out, sizeof out);
  return to_hex(out, sizeof out);
}

std::vector<std::uint8_t> Vault::seal(std::string_view plaintext, std::string_view context) const {
  constexpr std::size_t nb = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
  constexpr std::size_t tb = crypto_aead_xchacha20poly1305_ietf_ABYTES;
  std::vector<std::uint8_t> out(nb + plaintext.size() + tb);
  randombytes_buf(out.data(), nb);
  unsigned long long clen = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      out.data() + nb, &clen, reinterpret_cast<const unsigned char*>(plaintext.data()), plaintext.size(),
      reinterpret_cast<const unsigned char*>(context.data()), context.size(), nullptr, out.data(),
      seal_key_.data());
  out.resize(nb + static_cast<std::size_t>(clen));
  return out;
}

Result<std::string> Vault::open(const std::vector<std::uint8_t>& sealed, std::string_view context) const {
  constexpr std::size_t nb = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
  constexpr std::size_t tb = crypto_aead_xchacha20poly1305_ietf_ABYTES;
  if (sealed.size() < nb + tb)
    return make_error(Reason::kConfigError, "sealed value is too short");
  std::string out(sealed.size() - nb - tb, '\0');
  unsigned long long mlen = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          reinterpret_cast<unsigned char*>(out.data()), &mlen, nullptr, sealed.data() + nb,
          sealed.size() - nb, reinterpret_cast<const unsigned char*>(context.data()), context.size(),
          sealed.data(), seal_key_.data()) != 0)
    return make_error(Reason::kConfigError,
                      "sealed value does not open with this key and context (wrong key, wrong field or altered)");
  out.resize(static_cast<std::size_t>(mlen));
  return out;
}

std::string random_hex(std::size_t bytes) {
  ensure_sodium();
  std::vector<unsigned char> buf(bytes);
  if (bytes) randombytes_buf(buf.data(), bytes);
  return to_hex(buf.data(), buf.size());
}

std::string hash_hex(std::string_view data) {
  ensure_sodium();
  unsigned char out[32];
  crypto_generichash(out, sizeof out, reinterpret_cast<const unsigned char*>(data.data()), data.size(),
                     nullptr, 0);
  return to_hex(out, sizeof out);
}

}  // namespace simkyc
