#include <gtest/gtest.h>

#include "base64.h"

namespace hazel {
namespace {

// RFC 4648 section 10.
TEST(Base64, EncodesTheRfc4648Vectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
}

TEST(Base64, DecodesTheRfc4648Vectors) {
  EXPECT_EQ(base64_decode(""), "");
  EXPECT_EQ(base64_decode("Zg=="), "f");
  EXPECT_EQ(base64_decode("Zm8="), "fo");
  EXPECT_EQ(base64_decode("Zm9v"), "foo");
  EXPECT_EQ(base64_decode("Zm9vYg=="), "foob");
  EXPECT_EQ(base64_decode("Zm9vYmE="), "fooba");
  EXPECT_EQ(base64_decode("Zm9vYmFy"), "foobar");
}

TEST(Base64, UrlAlphabetUsesDashUnderscoreAndNoPadding) {
  std::string bytes("\xfb\xff\xbf", 3);
  EXPECT_EQ(base64_encode(bytes), "+/+/");
  EXPECT_EQ(base64_encode(bytes, Base64::kUrl), "-_-_");
  EXPECT_EQ(base64_encode("f", Base64::kUrl), "Zg");
  EXPECT_EQ(base64_decode("-_-_", Base64::kUrl), bytes);
  EXPECT_EQ(base64_decode("Zm8", Base64::kUrl), "fo");
}

TEST(Base64, RoundTripsEveryByteAtEveryLength) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (size_t n = 0; n <= all.size(); ++n) {
    std::string s = all.substr(0, n);
    EXPECT_EQ(base64_decode(base64_encode(s)), s) << n;
    EXPECT_EQ(base64_decode(base64_encode(s, Base64::kUrl), Base64::kUrl), s)
        << n;
  }
}

TEST(Base64, RejectsTextThatIsNotCanonical) {
  EXPECT_FALSE(base64_decode("Zg="));     // length not a multiple of 4
  EXPECT_FALSE(base64_decode("Zg"));      // standard requires padding
  EXPECT_FALSE(base64_decode("Zh=="));    // unused bits set
  EXPECT_FALSE(base64_decode("Z==="));    // one character is no byte
  EXPECT_FALSE(base64_decode("Zm9v YmFy"));
  EXPECT_FALSE(base64_decode("-_-_"));    // URL characters, standard text
  EXPECT_FALSE(base64_decode("+/+/", Base64::kUrl));
  EXPECT_FALSE(base64_decode("Zg==", Base64::kUrl));  // URL takes no padding
  EXPECT_FALSE(base64_decode("Z", Base64::kUrl));
  EXPECT_FALSE(base64_decode("=Zm9", Base64::kStandard));
}

}  // namespace
}  // namespace hazel
