// src/face/embedder.h — turns an aligned face chip into a descriptor.
#pragma once
#include <filesystem>
#include <memory>

#include "core/result.h"
#include "face/types.h"

namespace simkyc {

class Embedder {
 public:
  virtual ~Embedder() = default;
  // Requires: chip.bgr is info().input_size square 8UC3 (from align_face).
  // Ensures: unit-length descriptor with info().dims floats.
  // Errors: kModelError on backend failure.  Not safe for concurrent calls: clone() per thread.
  virtual Result<Descriptor> embed(const FaceChip& chip) = 0;
  virtual ModelInfo info() const = 0;
  virtual std::unique_ptr<Embedder> clone() const = 0;
};

// dlib ResNet-29 metric network ("dlib_resnet_v1"): 150x150 chip, 128 dims.
Result<std::unique_ptr<Embedder>> make_dlib_resnet_embedder(const std::filesystem::path& model_dir);

}  // namespace simkyc
