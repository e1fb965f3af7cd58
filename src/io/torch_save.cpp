// torch::pickle_save (torch/csrc/jit/serialization/pickle.cpp pickle_save) with the Pickler's tag_aggregates off
// (include/sgmim/io/torch_save.h).
#include "sgmim/io/torch_save.h"

#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/serialization/export.h>
#include <torch/csrc/jit/serialization/pickler.h>


namespace sgmim::io {

std::vector<char> torch_save_bytes(const c10::IValue& value) {
  std::vector<char> pickle_data;
  torch::jit::Pickler pickler([&](const char* buf, size_t size) { pickle_data.insert(pickle_data.end(), buf, buf + size); },
                              /*tensor_table=*/nullptr, /*type_renamer=*/nullptr, /*memoized_class_types=*/nullptr,
                              /*get_tensor_id=*/nullptr, /*tag_aggregates=*/false);
  pickler.protocol();
  pickler.pushIValue(value);
  pickler.stop();

  std::vector<char> container;
  container.reserve(pickle_data.size());
  caffe2::serialize::PyTorchStreamWriter writer([&](const void* bytes, size_t len) {
    const auto* begin = static_cast<const char*>(bytes);
    container.insert(container.end(), begin, begin + len);
    return len;
  });
  torch::jit::writeArchiveAndTensors("data", pickle_data.data(), pickle_data.size(), pickler.tensorData(), writer);
  writer.writeEndOfFile();
  return container;
}

}  // namespace sgmim::io
