#include "descriptor_cache.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "core/file.h"
#include "face/analyzer.h"
#include "face/embedder.h"
#include "image/image.h"

namespace simkyc::fusion {

Result<Variant> parse_variant(const std::string& spec) {
  Variant v;
  const auto colon = spec.find(':');
  v.embedder = spec.substr(0, colon);
  v.name = v.embedder;
  if (colon != std::string::npos) {
    try {
      v.box_margin = std::stod(spec.substr(colon + 1));
    } catch (const std::exception&) {
      return make_error(Reason::kUsage, "bad variant " + spec);
    }
    v.name = v.embedder + "_m" + spec.substr(colon + 1);
  }
  if (v.embedder.empty()) return make_error(Reason::kUsage, "bad variant " + spec);
  return v;
}

int DescriptorSet::variant_index(const std::string& name) const {
  for (std::size_t i = 0; i < variants.size(); ++i)
    if (variants[i].name == name) return static_cast<int>(i);
  return -1;
}

Result<DescriptorSet> embed_set(const std::filesystem::path& model_dir, const std::string& folders,
                                const std::string& pair_list, const std::vector<Variant>& variants, int threads) {
  DescriptorSet s;
  auto list = folders.empty() ? read_pair_list(pair_list) : pairs_from_folders(folders);
  if (!list) return list.error();
  s.data = folders.empty() ? pair_list : folders;
  s.pairs = list->pairs;
  for (const auto& p : list->images) {
    s.images.push_back(p.string());
    if (folders.empty()) {
      s.person.push_back(-1);
      continue;
    }
    const std::string who = p.parent_path().filename().string();
    auto it = std::find(s.people.begin(), s.people.end(), who);
    if (it == s.people.end()) {
      s.people.push_back(who);
      it = s.people.end() - 1;
    }
    s.person.push_back(static_cast<int>(it - s.people.begin()));
  }
  std::vector<std::unique_ptr<Embedder>> embedders;
  AnalyzerConfig acfg;   // the default pipeline's detector and landmarks
  s.variants = variants;
  for (auto& v : s.variants) {
    auto e = make_embedder(model_dir, fastest_runtime(v.embedder));   // same descriptors, faster runtime
    if (!e) return e.error();
    v.dims = e.value()->info().dims;
    if (e.value()->info().needs_arcface_points) acfg.arcface_points = true;   // + 68-point landmarks
    embedders.push_back(std::move(e.value()));
  }
  auto analyzer = FaceAnalyzer::load(model_dir, acfg);
  if (!analyzer) return analyzer.error();
  const std::size_t n = s.images.size();
  s.ok.assign(n, 0);
  s.desc.assign(s.variants.size(), std::vector<std::array<Descriptor, 2>>(n));
  std::atomic<std::size_t> next{0}, done{0};
  std::mutex err_mu;
  std::optional<Error> first_error;
  auto work = [&]() {
    FaceAnalyzer a = analyzer->clone();
    std::vector<std::unique_ptr<Embedder>> es;
    for (const auto& e : embedders) es.push_back(e->clone());
    for (std::size_t i; (i = next.fetch_add(1)) < n;) {
      auto bytes = read_file_limited(s.images[i], ImageLimits{}.max_bytes);
      auto img = bytes ? decode_image(*bytes) : Result<Image>(bytes.error());
      if (img) {
        if (auto fa = a.analyze(img->bgr, /*embed=*/false)) {
          bool all = true;
          for (std::size_t v = 0; v < es.size() && all; ++v) {
            ModelInfo info = es[v]->info();
            if (s.variants[v].box_margin >= 0) info.box_margin = s.variants[v].box_margin;
            FaceChip chip = make_embedder_chip(img->bgr, fa->box, fa->landmarks, info);
            FaceChip mirror;
            cv::flip(chip.bgr, mirror.bgr, 1);
            auto d0 = es[v]->embed(chip);
            auto d1 = es[v]->embed(mirror);
            if (!d0 || !d1) {
              std::lock_guard l(err_mu);
              if (!first_error) first_error = d0 ? d1.error() : d0.error();
              all = false;
              break;
            }
            s.desc[v][i] = {std::move(d0.value()), std::move(d1.value())};
          }
          s.ok[i] = all ? 1 : 0;
        }
      }
      const std::size_t d = done.fetch_add(1) + 1;
      if (d % 50 == 0 || d == n) std::cerr << "\r[dump] " << d << "/" << n << std::flush;
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  std::cerr << "\n";
  if (first_error) return *first_error;
  return s;
}

namespace {
constexpr char kMagic[] = "SKDESC1\n";
}

Status save(const DescriptorSet& s, const std::filesystem::path& file) {
  nlohmann::json h;
  h["data"] = s.data;
  h["images"] = s.images;
  h["person"] = s.person;
  h["people"] = s.people;
  nlohmann::json pairs = nlohmann::json::array();
  for (const auto& p : s.pairs) pairs.push_back({p.a, p.b, p.same ? 1 : 0});
  h["pairs"] = pairs;
  std::vector<int> ok(s.ok.begin(), s.ok.end());
  h["ok"] = ok;
  nlohmann::json vs = nlohmann::json::array();
  for (const auto& v : s.variants)
    vs.push_back({{"name", v.name}, {"embedder", v.embedder}, {"box_margin", v.box_margin}, {"dims", v.dims}});
  h["variants"] = vs;
  const std::string hs = h.dump();
  std::error_code ec;
  std::filesystem::create_directories(file.parent_path(), ec);
  std::ofstream f(file, std::ios::binary);
  f.write(kMagic, 8);
  const std::uint64_t len = hs.size();
  f.write(reinterpret_cast<const char*>(&len), sizeof len);
  f.write(hs.data(), static_cast<std::streamsize>(hs.size()));
  for (std::size_t v = 0; v < s.variants.size(); ++v) {
    const std::vector<float> zero(static_cast<std::size_t>(s.variants[v].dims), 0.f);
    for (std::size_t i = 0; i < s.images.size(); ++i)
      for (int k = 0; k < 2; ++k) {
        const auto& d = s.ok[i] ? s.desc[v][i][k] : zero;
        f.write(reinterpret_cast<const char*>(d.data()), static_cast<std::streamsize>(d.size() * sizeof(float)));
      }
  }
  if (!f) return make_error(Reason::kIoError, "cannot write " + file.string());
  return ok_status();
}

Result<DescriptorSet> load(const std::filesystem::path& file) {
  std::ifstream f(file, std::ios::binary);
  char magic[8];
  std::uint64_t len = 0;
  if (!f.read(magic, 8) || std::memcmp(magic, kMagic, 8) != 0 || !f.read(reinterpret_cast<char*>(&len), sizeof len) ||
      len > (1u << 30))
    return make_error(Reason::kIoError, "not a descriptor file: " + file.string());
  std::string hs(len, '\0');
  if (!f.read(hs.data(), static_cast<std::streamsize>(len))) return make_error(Reason::kIoError, "truncated header");
  DescriptorSet s;
  try {
    const auto h = nlohmann::json::parse(hs);
    s.data = h.at("data").get<std::string>();
    s.images = h.at("images").get<std::vector<std::string>>();
    s.person = h.at("person").get<std::vector<int>>();
    s.people = h.at("people").get<std::vector<std::string>>();
    for (const auto& p : h.at("pairs")) s.pairs.push_back({p[0].get<int>(), p[1].get<int>(), p[2].get<int>() != 0});
    for (int o : h.at("ok").get<std::vector<int>>()) s.ok.push_back(static_cast<char>(o));
    for (const auto& v : h.at("variants"))
      s.variants.push_back({v.at("name"), v.at("embedder"), v.at("box_margin"), v.at("dims")});
  } catch (const nlohmann::json::exception& e) {
    return make_error(Reason::kIoError, std::string("bad header: ") + e.what());
  }
  s.desc.assign(s.variants.size(), std::vector<std::array<Descriptor, 2>>(s.images.size()));
  for (std::size_t v = 0; v < s.variants.size(); ++v)
    for (std::size_t i = 0; i < s.images.size(); ++i)
      for (int k = 0; k < 2; ++k) {
        Descriptor d(static_cast<std::size_t>(s.variants[v].dims));
        if (!f.read(reinterpret_cast<char*>(d.data()), static_cast<std::streamsize>(d.size() * sizeof(float))))
          return make_error(Reason::kIoError, "truncated descriptors");
        if (s.ok[i]) s.desc[v][i][k] = std::move(d);
      }
  return s;
}

}  // namespace simkyc::fusion
