// registry/crypto.h: sealing, keyed hashes, key files.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "registry/crypto.h"

namespace fs = std::filesystem;
using namespace simkyc;

namespace {

const std::string kKeyA = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const std::string kKeyB = "ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

Vault vault(const std::string& hex) {
  auto v = Vault::from_hex(hex);
  EXPECT_TRUE(v.ok());
  return std::move(v.value());
}

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("simkyc_crypto_" + std::to_string(::getpid()) + "_" + random_hex(6));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  ::stat(p.c_str(), &st);
  return st.st_mode & 07777;
}

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST(Crypto, SealOpenRoundTrip) {
  const Vault v = vault(kKeyA);
  for (const std::string& msg : {std::string(), std::string("11010519491231002X"), std::string(5000, 'z')}) {
    const auto sealed = v.seal(msg, "sessions.id_sealed");
    EXPECT_EQ(sealed.size(), msg.size() + 24 + 16);
    if (!msg.empty()) {
      EXPECT_EQ(std::string(sealed.begin(), sealed.end()).find(msg), std::string::npos);
    }
    const auto opened = v.open(sealed, "sessions.id_sealed");
    ASSERT_TRUE(opened.ok()) << opened.error().describe();
    EXPECT_EQ(*opened, msg);
  }
  // A fresh nonce each time: equal plaintexts seal differently.
  EXPECT_NE(v.seal("same", "ctx"), v.seal("same", "ctx"));
}

TEST(Crypto, OpenFailsWithWrongContextKeyOrTamperedData) {
  const Vault a = vault(kKeyA);
  const Vault b = vault(kKeyB);
  const auto sealed = a.seal("+8613800138000", "registrations.number_sealed");

  auto wrong_ctx = a.open(sealed, "sessions.id_sealed");
  ASSERT_FALSE(wrong_ctx.ok());
  EXPECT_EQ(wrong_ctx.error().reason, Reason::kConfigError);
  EXPECT_FALSE(b.open(sealed, "registrations.number_sealed").ok());

  for (std::size_t i = 0; i < sealed.size(); ++i) {
    auto bad = sealed;
    bad[i] ^= 0x01;
    EXPECT_FALSE(a.open(bad, "registrations.number_sealed").ok()) << "byte " << i;
  }
  auto truncated = sealed;
  truncated.pop_back();
  EXPECT_FALSE(a.open(truncated, "registrations.number_sealed").ok());
  EXPECT_FALSE(a.open({}, "registrations.number_sealed").ok());
  EXPECT_FALSE(a.open(std::vector<std::uint8_t>(39, 0), "registrations.number_sealed").ok());
}

TEST(Crypto, KeyedHashIsDeterministicAndSeparatedByKeyAndDomain) {
  const Vault a = vault(kKeyA);
  const Vault a2 = vault(kKeyA);
  const Vault b = vault(kKeyB);
  const std::string h = a.keyed_hash("11010519491231002X", "id");
  EXPECT_EQ(h.size(), 64u);
  EXPECT_EQ(h.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(h, a2.keyed_hash("11010519491231002X", "id"));
  EXPECT_NE(h, b.keyed_hash("11010519491231002X", "id"));
  EXPECT_NE(h, a.keyed_hash("11010519491231002X", "phone"));
  EXPECT_NE(h, a.keyed_hash("11010519491231002Y", "id"));
  // Domain and data cannot be shifted into each other.
  EXPECT_NE(a.keyed_hash("bc", "a"), a.keyed_hash("c", "ab"));
  // Keyed: not the plain hash of the data.
  EXPECT_NE(h, hash_hex("11010519491231002X"));
}

TEST(Crypto, FromHexRejectsBadKeys) {
  EXPECT_TRUE(Vault::from_hex(kKeyA).ok());
  EXPECT_TRUE(Vault::from_hex("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F").ok());
  for (const std::string& bad : {std::string(), kKeyA.substr(0, 62), kKeyA + "00",
                                "zz" + kKeyA.substr(2), kKeyA.substr(0, 63) + " "}) {
    auto v = Vault::from_hex(bad);
    ASSERT_FALSE(v.ok()) << bad;
    EXPECT_EQ(v.error().reason, Reason::kConfigError);
  }
}

TEST(Crypto, RandomHexAndHashHex) {
  EXPECT_EQ(random_hex(8).size(), 16u);
  EXPECT_EQ(random_hex(32).size(), 64u);
  EXPECT_EQ(random_hex(0), "");
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) seen.insert(random_hex(16));
  EXPECT_EQ(seen.size(), 100u);
  // BLAKE2b-256 of the empty string and of "abc" (RFC 7693 test vectors' 256-bit variant).
  EXPECT_EQ(hash_hex(""), "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
  EXPECT_EQ(hash_hex("abc"), "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
}

TEST(Crypto, KeyFileIsCreatedWithMode0600AndReloads) {
  TempDir dir;
  const fs::path key = dir.path / "simkyc.key";
  bool created = false;
  auto v1 = Vault::from_key_file(key, /*create_if_missing=*/true, &created);
  ASSERT_TRUE(v1.ok()) << v1.error().describe();
  EXPECT_TRUE(created);
  EXPECT_EQ(mode_of(key), 0600u);
  const std::string content = read_all(key);
  ASSERT_EQ(content.size(), 65u);
  EXPECT_EQ(content.back(), '\n');
  EXPECT_EQ(content.substr(0, 64).find_first_not_of("0123456789abcdef"), std::string::npos);
  // No temporary file is left behind.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()), 1);

  auto v2 = Vault::from_key_file(key, true, &created);
  ASSERT_TRUE(v2.ok());
  EXPECT_FALSE(created);
  EXPECT_EQ(v1->keyed_hash("x", "d"), v2->keyed_hash("x", "d"));
  auto opened = v2->open(v1->seal("secret", "ctx"), "ctx");
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(*opened, "secret");
  // The same key as reading its hex directly.
  EXPECT_EQ(vault(content.substr(0, 64)).keyed_hash("x", "d"), v1->keyed_hash("x", "d"));
}

TEST(Crypto, KeyFileMissingWithoutCreateIsAnError) {
  TempDir dir;
  auto v = Vault::from_key_file(dir.path / "none.key", false);
  ASSERT_FALSE(v.ok());
  EXPECT_FALSE(fs::exists(dir.path / "none.key"));
}

TEST(Crypto, KeyFileWithWidePermissionsIsRefused) {
  TempDir dir;
  const fs::path key = dir.path / "simkyc.key";
  ASSERT_TRUE(Vault::from_key_file(key, true).ok());
  for (unsigned mode : {0644u, 0640u, 0604u, 0660u}) {
    ASSERT_EQ(::chmod(key.c_str(), mode), 0);
    auto v = Vault::from_key_file(key, true);
    ASSERT_FALSE(v.ok()) << std::oct << mode;
    EXPECT_EQ(v.error().reason, Reason::kConfigError);
    EXPECT_NE(v.error().detail.find("chmod 600"), std::string::npos) << v.error().detail;
  }
  ASSERT_EQ(::chmod(key.c_str(), 0400), 0);
  EXPECT_TRUE(Vault::from_key_file(key, true).ok());
}

TEST(Crypto, KeyFileWithBadContentIsRefused) {
  TempDir dir;
  const fs::path key = dir.path / "bad.key";
  for (const std::string& content : {std::string("not a key\n"), std::string(), kKeyA.substr(0, 40) + "\n",
                                    kKeyA + kKeyA + "\n"}) {
    std::ofstream(key, std::ios::binary | std::ios::trunc) << content;
    ASSERT_EQ(::chmod(key.c_str(), 0600), 0);
    auto v = Vault::from_key_file(key, true);
    ASSERT_FALSE(v.ok());
    EXPECT_EQ(v.error().reason, Reason::kConfigError);
  }
  // A key written by hand, with or without a trailing newline, is accepted.
  std::ofstream(key, std::ios::binary | std::ios::trunc) << kKeyA;
  EXPECT_TRUE(Vault::from_key_file(key, false).ok());
}

TEST(Crypto, ConcurrentKeyFileCreationYieldsOneKey) {
  TempDir dir;
  const fs::path key = dir.path / "simkyc.key";
  constexpr int kThreads = 8;
  std::vector<std::string> hashes(kThreads);
  std::vector<int> created(kThreads, 0);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i)
    threads.emplace_back([&, i] {
      bool c = false;
      auto v = Vault::from_key_file(key, true, &c);
      if (v.ok()) hashes[i] = v->keyed_hash("probe", "test");
      created[i] = c;
    });
  for (auto& t : threads) t.join();
  int n_created = 0;
  for (int i = 0; i < kThreads; ++i) {
    EXPECT_EQ(hashes[i], hashes[0]);
    EXPECT_FALSE(hashes[i].empty());
    n_created += created[i];
  }
  EXPECT_EQ(n_created, 1);
}
