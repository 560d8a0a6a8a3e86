#include "tools/import/csv_reader.hpp"
#include "tools/import/line_reader.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace tributary::tools::import {
namespace {

std::vector<CsvReader::Record> ReadAll(const std::string& text, size_t max = 1 << 20) {
    std::istringstream in(text);
    CsvReader reader(in, 0, 0, max);
    std::vector<CsvReader::Record> records;
    CsvReader::Record record;
    while (reader.Next(record)) records.push_back(record);
    return records;
}

using Fields = std::vector<std::string>;

TEST(CsvReader, SplitsPlainFieldsAndKeepsEmptyOnes) {
    const auto records = ReadAll("a,b,c\n1,,3\n");
    ASSERT_EQ(records.size(), 2u);
    EXPECT_EQ(records[0].fields, (Fields{"a", "b", "c"}));
    EXPECT_EQ(records[1].fields, (Fields{"1", "", "3"}));
    EXPECT_EQ(records[1].line, 2);
    EXPECT_EQ(records[1].end_offset, 11);
}

TEST(CsvReader, QuotedFieldsHoldCommasLineBreaksAndDoubledQuotes) {
    const std::string text = "id,note\r\n1,\"a, b\"\r\n2,\"line one\nline two\"\r\n3,\"say \"\"hi\"\"\"\r\n4,\"\"\r\n";
    const auto records = ReadAll(text);
    ASSERT_EQ(records.size(), 5u);
    EXPECT_EQ(records[1].fields, (Fields{"1", "a, b"}));
    EXPECT_EQ(records[2].fields, (Fields{"2", "line one\nline two"}));
    EXPECT_EQ(records[3].fields, (Fields{"3", "say \"hi\""}));
    EXPECT_EQ(records[4].fields, (Fields{"4", ""}));
    // The record after a quoted line break starts one line later.
    EXPECT_EQ(records[2].line, 3);
    EXPECT_EQ(records[3].line, 5);
    EXPECT_EQ(records[4].end_offset, static_cast<int64_t>(text.size()));
    EXPECT_EQ(records[1].text, "1,\"a, b\"");
    for (const auto& r : records) EXPECT_EQ(r.error, "");
}

TEST(CsvReader, LastRecordWithoutLineBreakAndBlankLines) {
    const auto records = ReadAll("a\n\n\nb");
    ASSERT_EQ(records.size(), 2u);
    EXPECT_EQ(records[1].fields, (Fields{"b"}));
    EXPECT_EQ(records[1].line, 4);
}

TEST(CsvReader, MalformedRecordsAreReportedAndReadingGoesOn) {
    const auto records = ReadAll("a,b\nx\"y,2\n\"q\"z,3\nok,4\n\"open,5\n");
    ASSERT_EQ(records.size(), 5u);
    EXPECT_NE(records[1].error.find("double quote"), std::string::npos);
    EXPECT_EQ(records[1].text, "x\"y,2");
    EXPECT_NE(records[2].error.find("followed by text"), std::string::npos);
    EXPECT_EQ(records[3].fields, (Fields{"ok", "4"}));
    EXPECT_EQ(records[3].error, "");
    EXPECT_EQ(records[3].line, 4);
    EXPECT_NE(records[4].error.find("not closed"), std::string::npos);
}

TEST(CsvReader, OverlongRecordIsSkippedNotKept) {
    const auto records = ReadAll("a\n" + std::string(100, 'x') + "\nb\n", 10);
    ASSERT_EQ(records.size(), 3u);
    EXPECT_NE(records[1].error.find("longer than 10"), std::string::npos);
    EXPECT_EQ(records[2].fields, (Fields{"b"}));
}

TEST(CsvReader, ResumesAtAnOffsetWithItsLineNumber) {
    const std::string text = "h\n1\n2\n";
    std::istringstream in(text);
    in.seekg(4);
    CsvReader reader(in, 4, 2, 1024);
    CsvReader::Record record;
    ASSERT_TRUE(reader.Next(record));
    EXPECT_EQ(record.fields, (Fields{"2"}));
    EXPECT_EQ(record.line, 3);
    EXPECT_EQ(record.end_offset, 6);
    EXPECT_FALSE(reader.Next(record));
}

TEST(LineReader, SkipsBlankLinesKeepsNumbersAndOffsets) {
    std::istringstream in("{\"a\":1}\r\n\n  \n{\"b\":2}");
    LineReader reader(in, 0, 0, 1024);
    LineReader::Line line;
    ASSERT_TRUE(reader.Next(line));
    EXPECT_EQ(line.text, "{\"a\":1}");
    EXPECT_EQ(line.number, 1);
    EXPECT_EQ(line.end_offset, 9);
    ASSERT_TRUE(reader.Next(line));
    EXPECT_EQ(line.text, "{\"b\":2}");
    EXPECT_EQ(line.number, 4);
    EXPECT_EQ(line.end_offset, 20);
    EXPECT_FALSE(reader.Next(line));
}

TEST(LineReader, OverlongLineIsReportedWithoutItsText) {
    std::istringstream in(std::string(50, 'x') + "\nok\n");
    LineReader reader(in, 0, 0, 10);
    LineReader::Line line;
    ASSERT_TRUE(reader.Next(line));
    EXPECT_TRUE(line.too_long);
    EXPECT_TRUE(line.text.empty());
    ASSERT_TRUE(reader.Next(line));
    EXPECT_EQ(line.text, "ok");
    EXPECT_EQ(line.number, 2);
}

}  // namespace
}  // namespace tributary::tools::import
