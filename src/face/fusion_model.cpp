#include "face/fusion_model.h"

#include <cmath>
#include <cstring>


#include "core/file.h"
#include "core/model_manifest.h"

namespace simkyc {
namespace {

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string encode_floats(const std::vector<float>& v) {
  static_assert(sizeof(float) == 4);
  std::string bytes(v.size() * 4, '\0');
  for (std::size_t i = 0; i < v.size(); ++i) {
    std::uint32_t u;
    std::memcpy(&u, &v[i], 4);
    for (int k = 0; k < 4; ++k) bytes[4 * i + static_cast<std::size_t>(k)] = static_cast<char>((u >> (8 * k)) & 0xff);
  }
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    std::uint32_t n = static_cast<std::uint8_t>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) n |= static_cast<std::uint8_t>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) n |= static_cast<std::uint8_t>(bytes[i + 2]);
    out += kB64[(n >> 18) & 63];
    out += kB64[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? kB64[(n >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kB64[n & 63] : '=';
  }
  return out;
}

Result<std::vector<float>> decode_floats(const std::string& s, std::size_t expect) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  if (s.size() % 4 != 0) return make_error(Reason::kModelError, "bad base64 length");
  std::string bytes;
  bytes.reserve(s.size() / 4 * 3);
  for (std::size_t i = 0; i < s.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = s[i + static_cast<std::size_t>(k)];
      if (c == '=' && i + 4 == s.size() && k >= 2) {
        v[k] = 0;
        ++pad;
      } else if ((v[k] = val(c)) < 0 || pad > 0) {
        return make_error(Reason::kModelError, "bad base64");
      }
    }
    const std::uint32_t n = (static_cast<std::uint32_t>(v[0]) << 18) | (static_cast<std::uint32_t>(v[1]) << 12) |
                            (static_cast<std::uint32_t>(v[2]) << 6) | static_cast<std::uint32_t>(v[3]);
    bytes += static_cast<char>((n >> 16) & 0xff);
    if (pad < 2) bytes += static_cast<char>((n >> 8) & 0xff);
    if (pad < 1) bytes += static_cast<char>(n & 0xff);
  }
  if (bytes.size() != expect * 4) return make_error(Reason::kModelError, "float array has the wrong length");
  std::vector<float> out(expect);
  for (std::size_t i = 0; i < expect; ++i) {
    std::uint32_t u = 0;
    for (int k = 0; k < 4; ++k) u |= static_cast<std::uint32_t>(static_cast<std::uint8_t>(bytes[4 * i + static_cast<std::size_t>(k)])) << (8 * k);
    std::memcpy(&out[i], &u, 4);
    if (!std::isfinite(out[i])) return make_error(Reason::kModelError, "non-finite value");
  }
  return out;
}

void normalise(Descriptor& d) {
  double n = 0;
  for (float x : d) n += static_cast<double>(x) * x;
  n = std::sqrt(n);
  if (n > 0)
    for (float& x : d) x = static_cast<float>(x / n);
}

}  // namespace

int FusionModel::in_dims() const {
  int n = 0;
  for (int d : part_dims) n += d;
  return n;
}

Descriptor average_unit(const Descriptor& a, const Descriptor& b) {
  Descriptor d(a.size());
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) d[i] = a[i] + b[i];
  normalise(d);
  return d;
}

Result<Descriptor> FusionModel::combine(const std::vector<Descriptor>& in) const {
  if (in.size() != parts.size()) return make_error(Reason::kInternal, "fusion: wrong number of parts");
  Descriptor x;
  x.reserve(static_cast<std::size_t>(in_dims()));
  for (std::size_t p = 0; p < in.size(); ++p) {
    if (static_cast<int>(in[p].size()) != part_dims[p]) return make_error(Reason::kInternal, "fusion: part size");
    for (float v : in[p]) x.push_back(v * parts[p].weight);
  }
  if (projection.empty()) {
    normalise(x);
    return x;
  }
  const auto D = static_cast<std::size_t>(projection.in_dims), K = static_cast<std::size_t>(projection.out_dims);
  if (x.size() != D) return make_error(Reason::kInternal, "fusion: projection size");
  std::vector<double> y(K, 0.0);
  for (std::size_t i = 0; i < D; ++i) {
    const double xi = static_cast<double>(x[i]) - projection.mean[i];
    const float* row = projection.matrix.data() + i * K;
    for (std::size_t k = 0; k < K; ++k) y[k] += xi * row[k];
  }
  Descriptor out(y.begin(), y.end());
  normalise(out);
  return out;
}

nlohmann::json to_json(const FusionModel& m) {
  nlohmann::json parts = nlohmann::json::array();
  for (std::size_t p = 0; p < m.parts.size(); ++p)
    parts.push_back({{"embedder", m.parts[p].embedder},
                     {"box_margin", m.parts[p].box_margin},
                     {"flip", m.parts[p].flip},
                     {"weight", m.parts[p].weight},
                     {"dims", m.part_dims[p]}});
  nlohmann::json j = {{"id", m.id}, {"version", m.version}, {"kind", "fusion"}, {"parts", parts},
                      {"dims", m.dims()}, {"provenance", m.provenance}};
  if (!m.projection.empty())
    j["projection"] = {{"in_dims", m.projection.in_dims},
                       {"out_dims", m.projection.out_dims},
                       {"encoding", "f32le-base64"},
                       {"mean", encode_floats(m.projection.mean)},
                       {"matrix", encode_floats(m.projection.matrix)}};
  return j;
}

Result<FusionModel> fusion_model_from_json(const nlohmann::json& j) {
  try {
    FusionModel m;
    m.id = j.at("id").get<std::string>();
    m.version = j.value("version", "1");
    for (const auto& p : j.at("parts")) {
      FusionPart fp;
      fp.embedder = p.at("embedder").get<std::string>();
      fp.box_margin = p.value("box_margin", -1.0);
      fp.flip = p.value("flip", false);
      fp.weight = p.value("weight", 1.f);
      const int dims = p.at("dims").get<int>();
      if (dims <= 0 || !std::isfinite(fp.weight) || fp.weight <= 0)
        return make_error(Reason::kModelError, "fusion: bad part");
      m.parts.push_back(fp);
      m.part_dims.push_back(dims);
    }
    if (m.parts.empty()) return make_error(Reason::kModelError, "fusion: no parts");
    m.provenance = j.value("provenance", nlohmann::json::object());
    if (j.contains("projection")) {
      const auto& pj = j["projection"];
      auto& pr = m.projection;
      pr.in_dims = pj.at("in_dims").get<int>();
      pr.out_dims = pj.at("out_dims").get<int>();
      if (pr.in_dims != m.in_dims() || pr.out_dims <= 0 || pr.out_dims > 100000)
        return make_error(Reason::kModelError, "fusion: projection does not fit the parts");
      if (pj.value("encoding", "") != "f32le-base64") return make_error(Reason::kModelError, "fusion: unknown encoding");
      auto mean = decode_floats(pj.at("mean").get<std::string>(), static_cast<std::size_t>(pr.in_dims));
      if (!mean) return mean.error();
      auto mat = decode_floats(pj.at("matrix").get<std::string>(),
                               static_cast<std::size_t>(pr.in_dims) * static_cast<std::size_t>(pr.out_dims));
      if (!mat) return mat.error();
      pr.mean = std::move(mean.value());
      pr.matrix = std::move(mat.value());
    }
    if (j.contains("dims") && j["dims"].get<int>() != m.dims())
      return make_error(Reason::kModelError, "fusion: dims do not match");
    return m;
  } catch (const nlohmann::json::exception& e) {
    return make_error(Reason::kModelError, std::string("fusion model: ") + e.what());
  }
}

Result<FusionModel> load_fusion_model(const std::filesystem::path& file, const std::string& expected_sha256) {
  constexpr std::uintmax_t kMaxBytes = 64u << 20;
  ModelFile f;
  f.path = file;
  f.sha256 = expected_sha256;
  auto text = expected_sha256.empty() ? read_text_file(file, kMaxBytes) : read_checked_model_file(f, kMaxBytes);
  if (!text) return text.error().reason == Reason::kModelError ? text.error() : make_error(Reason::kModelError, "cannot read " + file.string());
  try {
    return fusion_model_from_json(nlohmann::json::parse(*text));
  } catch (const nlohmann::json::exception& e) {
    return make_error(Reason::kModelError, std::string("fusion model: ") + e.what());
  }
}

}  // namespace simkyc
