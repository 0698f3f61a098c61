// The strict JSON reader that reads token headers and claims.
#include <gtest/gtest.h>

#include <string>

#include "json.h"

namespace hazel {
namespace {

bool parses(std::string_view text, JsonMembers* m = nullptr) {
  JsonMembers local;
  std::string err;
  return json_parse_object(text, m ? m : &local, &err);
}

TEST(Json, ReadsEveryKindOfMember) {
  JsonMembers m;
  ASSERT_TRUE(parses(R"( {"s":"a\"b\\c\/\n\u00e9","n":-42,"f":1.5e3,"t":true,)"
                     R"("F":false,"z":null,"l":["x","",  "y"],"o":{"a":[1,{}]}} )",
                     &m));
  ASSERT_EQ(m.size(), 8u);
  EXPECT_EQ(m[0].first, "s");
  EXPECT_EQ(m[0].second.type, JsonValue::Type::kString);
  EXPECT_EQ(m[0].second.str, "a\"b\\c/\n\xc3\xa9");
  EXPECT_EQ(m[1].second.type, JsonValue::Type::kNumber);
  EXPECT_TRUE(m[1].second.integer);
  EXPECT_EQ(m[1].second.number, -42);
  EXPECT_EQ(m[2].second.type, JsonValue::Type::kNumber);
  EXPECT_FALSE(m[2].second.integer);
  EXPECT_TRUE(m[3].second.boolean);
  EXPECT_EQ(m[4].second.type, JsonValue::Type::kBool);
  EXPECT_FALSE(m[4].second.boolean);
  EXPECT_EQ(m[5].second.type, JsonValue::Type::kNull);
  EXPECT_EQ(m[6].second.type, JsonValue::Type::kStringArray);
  EXPECT_EQ(m[6].second.strings, (std::vector<std::string>{"x", "", "y"}));
  EXPECT_EQ(m[7].second.type, JsonValue::Type::kOther);
}

TEST(Json, AnArrayWithANonStringIsOther) {
  JsonMembers m;
  ASSERT_TRUE(parses(R"({"a":["x",1],"b":[]})", &m));
  EXPECT_EQ(m[0].second.type, JsonValue::Type::kOther);
  EXPECT_TRUE(m[0].second.strings.empty());
  EXPECT_EQ(m[1].second.type, JsonValue::Type::kStringArray);
}

TEST(Json, DecodesSurrogatePairs) {
  JsonMembers m;
  ASSERT_TRUE(parses(R"({"e":"\ud83d\ude00"})", &m));
  EXPECT_EQ(m[0].second.str, "\xf0\x9f\x98\x80");
}

TEST(Json, IntegersAtTheEdgesOfI64) {
  JsonMembers m;
  ASSERT_TRUE(parses(R"({"a":9223372036854775807,"b":-9223372036854775808,)"
                     R"("c":9223372036854775808,"d":0,"e":-0})",
                     &m));
  EXPECT_TRUE(m[0].second.integer);
  EXPECT_EQ(m[0].second.number, INT64_MAX);
  EXPECT_TRUE(m[1].second.integer);
  EXPECT_EQ(m[1].second.number, INT64_MIN);
  EXPECT_FALSE(m[2].second.integer);  // a number, but not an i64
  EXPECT_EQ(m[3].second.number, 0);
  EXPECT_EQ(m[4].second.number, 0);
}

TEST(Json, RejectsWhatRfc8259Rejects) {
  const char* bad[] = {
      "",  "[]",  "\"x\"",  "{",  "}",  "{\"a\"}",  "{\"a\":}",  "{\"a\":1,}",
      "{,}", "{\"a\":1 \"b\":2}", "{'a':1}", "{a:1}", "{\"a\":01}",
      "{\"a\":1.}", "{\"a\":.5}", "{\"a\":1e}", "{\"a\":+1}", "{\"a\":-}",
      "{\"a\":tru}", "{\"a\":True}", "{\"a\":nul}", "{\"a\":\"x}",
      "{\"a\":\"\\x\"}", "{\"a\":\"\\u12\"}", "{\"a\":\"\\u12g4\"}",
      "{\"a\":[\"x\",]}", "{\"a\":[,]}", "{\"a\":{\"b\"}}", "{\"a\":{\"b\":1,}}",
      "{\"a\":1}x", "{\"a\":1}{}", "{\"a\":1} ,", "{\"a\":[1 2]}",
  };
  for (const char* text : bad) EXPECT_FALSE(parses(text)) << text;
  EXPECT_FALSE(parses(std::string_view("{\"a\":1}\0", 8)));
}

TEST(Json, RejectsDuplicateMemberNames) {
  EXPECT_FALSE(parses(R"({"sub":"alice","sub":"root"})"));
  // Written differently, the same name.
  EXPECT_FALSE(parses(R"({"sub":"alice","s\u0075b":"root"})"));
  // Inside a skipped object, duplicates do not matter to anyone.
  EXPECT_TRUE(parses(R"({"o":{"a":1,"a":2}})"));
}

TEST(Json, RejectsControlCharactersAndBadUtf8InStrings) {
  EXPECT_FALSE(parses("{\"a\":\"x\ny\"}"));
  EXPECT_FALSE(parses("{\"a\":\"\x01\"}"));
  EXPECT_FALSE(parses("{\"a\":\"\xc0\x80\"}"));          // overlong NUL
  EXPECT_FALSE(parses("{\"a\":\"\xe0\x80\xaf\"}"));      // overlong '/'
  EXPECT_FALSE(parses("{\"a\":\"\xed\xa0\x80\"}"));      // a UTF-8 surrogate
  EXPECT_FALSE(parses("{\"a\":\"\xf4\x90\x80\x80\"}"));  // above U+10FFFF
  EXPECT_FALSE(parses("{\"a\":\"\xff\"}"));
  EXPECT_FALSE(parses("{\"a\":\"\xc3\"}"));              // truncated
  EXPECT_FALSE(parses("{\"a\":\"\x80\"}"));              // lone continuation
  EXPECT_TRUE(parses("{\"a\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}"));
}

TEST(Json, RejectsUnpairedSurrogateEscapes) {
  EXPECT_FALSE(parses(R"({"a":"\ud83d"})"));
  EXPECT_FALSE(parses(R"({"a":"\ud83dx"})"));
  EXPECT_FALSE(parses(R"({"a":"\ude00"})"));
  EXPECT_FALSE(parses(R"({"a":"\ud83d\u0041"})"));
}

TEST(Json, DeepNestingIsRefusedNotRecursedInto) {
  JsonLimits lim;
  std::string ok = "{\"a\":" + std::string(lim.max_depth, '[') +
                   std::string(lim.max_depth, ']') + "}";
  EXPECT_TRUE(parses(ok));
  std::string deep = "{\"a\":" + std::string(lim.max_depth + 1, '[') +
                     std::string(lim.max_depth + 1, ']') + "}";
  EXPECT_FALSE(parses(deep));
  // A nesting bomb the size of the whole input budget costs nothing.
  std::string bomb = "{\"a\":" + std::string(lim.max_bytes - 6, '[');
  std::string err;
  JsonMembers m;
  EXPECT_FALSE(json_parse_object(bomb, &m, &err));
  EXPECT_NE(err.find("nested too deeply"), std::string::npos) << err;
}

TEST(Json, SizeMembersAndArraysAreBounded) {
  JsonLimits lim;
  std::string big = "{\"a\":\"" + std::string(lim.max_bytes, 'x') + "\"}";
  EXPECT_FALSE(parses(big));
  std::string members = "{";
  for (size_t i = 0; i <= lim.max_members; ++i)
    members += (i ? ",\"" : "\"") + std::to_string(i) + "\":1";
  members += "}";
  EXPECT_FALSE(parses(members));
  std::string arr = "{\"a\":[";
  for (size_t i = 0; i <= lim.max_array; ++i) arr += i ? ",\"\"" : "\"\"";
  arr += "]}";
  EXPECT_FALSE(parses(arr));
  std::string skipped = "{\"a\":[";
  for (size_t i = 0; i <= lim.max_array; ++i) skipped += i ? ",1" : "1";
  skipped += "]}";
  EXPECT_FALSE(parses(skipped));
}

TEST(Json, AppendStringEscapesWhatMustBe) {
  std::string out;
  json_append_string(out, std::string("a\"b\\c\n\x01\xc3\xa9", 9));
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\u000a\\u0001\xc3\xa9\"");
  JsonMembers m;
  ASSERT_TRUE(parses("{\"k\":" + out + "}", &m));
  EXPECT_EQ(m[0].second.str, std::string("a\"b\\c\n\x01\xc3\xa9", 9));
}

}  // namespace
}  // namespace hazel
