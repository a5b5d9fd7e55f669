// Fusion embedders (issue 7): several embedders' descriptors combined by a fitted FusionModel.
#include <opencv2/core.hpp>

#include "core/model_manifest.h"
#include "face/embedder.h"
#include "face/fusion_model.h"

namespace simkyc {
namespace {

class FusionEmbedder final : public Embedder {
 public:
  FusionEmbedder(std::shared_ptr<const FusionModel> model, std::vector<std::unique_ptr<Embedder>> parts, ModelInfo info)
      : model_(std::move(model)), parts_(std::move(parts)), info_(std::move(info)) {}

  Result<Descriptor> embed(const FaceChip&) override {
    return make_error(Reason::kInternal, info_.name + ": a fusion embedder needs the whole image (embed_face)");
  }

  Result<Descriptor> embed_face(const cv::Mat& bgr, const FaceBox& box, const Landmarks& landmarks) override {
    std::vector<Descriptor> ds;
    ds.reserve(parts_.size());
    for (std::size_t p = 0; p < parts_.size(); ++p) {
      const FusionPart& part = model_->parts[p];
      ModelInfo pi = parts_[p]->info();
      if (part.box_margin >= 0) pi.box_margin = part.box_margin;
      FaceChip chip = make_embedder_chip(bgr, box, landmarks, pi);
      auto d = parts_[p]->embed(chip);
      if (!d) return d.error();
      if (part.flip) {
        FaceChip mirror;
        cv::flip(chip.bgr, mirror.bgr, 1);
        auto m = parts_[p]->embed(mirror);
        if (!m) return m.error();
        ds.push_back(average_unit(*d, *m));
      } else {
        ds.push_back(std::move(d.value()));
      }
    }
    return model_->combine(ds);
  }

  ModelInfo info() const override { return info_; }

  std::unique_ptr<Embedder> clone() const override {
    std::vector<std::unique_ptr<Embedder>> ps;
    for (const auto& p : parts_) {
      auto c = p->clone();
      if (!c) return nullptr;
      ps.push_back(std::move(c));
    }
    return std::make_unique<FusionEmbedder>(model_, std::move(ps), info_);
  }

 private:
  std::shared_ptr<const FusionModel> model_;
  std::vector<std::unique_ptr<Embedder>> parts_;
  ModelInfo info_;
};

}  // namespace

Result<std::unique_ptr<Embedder>> make_fusion_embedder(const std::filesystem::path& model_dir, const std::string& id) {
  auto file = find_model(model_dir, id);
  if (!file) return file.error();
  auto model = load_fusion_model(file->path, file->sha256);
  if (!model) return model.error();
  if (model->id != id) return make_error(Reason::kModelError, file->path.string() + " holds '" + model->id + "', not '" + id + "'");
  std::vector<std::unique_ptr<Embedder>> parts;
  for (std::size_t p = 0; p < model->parts.size(); ++p) {
    const auto& part = model->parts[p];
    if (part.embedder.rfind("fusion_", 0) == 0) return make_error(Reason::kModelError, "fusion of fusions: " + part.embedder);
    auto e = make_embedder(model_dir, fastest_runtime(part.embedder));
    if (!e) return e.error();
    if (e.value()->info().dims != model->part_dims[p])
      return make_error(Reason::kModelError, id + ": part " + part.embedder + " has " +
                                                 std::to_string(e.value()->info().dims) + " dims, model expects " +
                                                 std::to_string(model->part_dims[p]));
    parts.push_back(std::move(e.value()));
  }
  ModelInfo info;
  info.name = id;
  info.version = model->version;
  info.sha256 = file->sha256;
  info.input_size = 150;   // not a chip size: the analyzer's quality chip
  info.dims = model->dims();
  info.chip = "face";
  for (const auto& p : parts)
    if (p->info().needs_arcface_points) info.needs_arcface_points = true;
  auto shared = std::make_shared<const FusionModel>(std::move(model.value()));
  return std::unique_ptr<Embedder>(std::make_unique<FusionEmbedder>(std::move(shared), std::move(parts), info));
}

}  // namespace simkyc
