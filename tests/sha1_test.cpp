#include <gtest/gtest.h>

#include <string>

#include "sha1.h"

namespace hazel {
namespace {

std::string hex(const Sha1Digest& d) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (uint8_t b : d) {
    s += digits[b >> 4];
    s += digits[b & 15];
  }
  return s;
}

// FIPS 180-2 appendix A and the NIST example values.
TEST(Sha1, HashesTheFipsVectors) {
  EXPECT_EQ(hex(sha1("abc")), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(hex(sha1("")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  EXPECT_EQ(hex(sha1("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
  EXPECT_EQ(hex(sha1("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
                     "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu")),
            "a49b2446a02c645bf419f995b67091253a04a259");
}

TEST(Sha1, HashesAMillionAs) {
  Sha1 s;
  std::string chunk(1000, 'a');
  for (int i = 0; i < 1000; ++i) s.update(chunk);
  EXPECT_EQ(hex(s.finish()), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

// Padding crosses a block boundary at 56..63 bytes of the last block.
TEST(Sha1, PadsAtEveryLengthAroundABlock) {
  // sha1sum of 'a' * n for the lengths where padding changes shape.
  EXPECT_EQ(hex(sha1(std::string(55, 'a'))),
            "c1c8bbdc22796e28c0e15163d20899b65621d65a");
  EXPECT_EQ(hex(sha1(std::string(56, 'a'))),
            "c2db330f6083854c99d4b5bfb6e8f29f201be699");
  EXPECT_EQ(hex(sha1(std::string(63, 'a'))),
            "03f09f5b158a7a8cdad920bddc29b81c18a551f5");
  EXPECT_EQ(hex(sha1(std::string(64, 'a'))),
            "0098ba824b5c16427bd7a1122a5a442a25ec644d");
  EXPECT_EQ(hex(sha1(std::string(65, 'a'))),
            "11655326c708d70319be2610e8a57d9a5b959d3b");
}

TEST(Sha1, GivesTheSameDigestForEverySplitOfTheInput) {
  std::string data;
  for (int i = 0; i < 200; ++i) data += static_cast<char>(i * 7 + 3);
  Sha1Digest whole = sha1(data);
  for (size_t cut = 0; cut <= data.size(); ++cut) {
    Sha1 s;
    s.update(data.substr(0, cut));
    s.update(data.substr(cut));
    EXPECT_EQ(s.finish(), whole) << "cut at " << cut;
  }
}

TEST(Sha1, ResetStartsOver) {
  Sha1 s;
  s.update("something else");
  s.finish();
  s.reset();
  s.update("abc");
  EXPECT_EQ(hex(s.finish()), "a9993e364706816aba3e25717850c26c9cd0d89d");
}

}  // namespace
}  // namespace hazel
