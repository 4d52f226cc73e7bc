#pragma once

#include <cstdint>
#include <string_view>

namespace lantern::common {

// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as TFRecord and
// TensorBoard event files use it.
uint32_t Crc32c(std::string_view data);

// TFRecord's masked form of a CRC: stored CRCs of data that itself holds
// CRCs stay distinguishable. ((crc >> 15) | (crc << 17)) + 0xa282ead8.
uint32_t MaskCrc32c(uint32_t crc);

}  // namespace lantern::common
