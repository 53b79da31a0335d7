using System.Text.RegularExpressions;

namespace CloudApp.Deploy.Tests;

/// <summary>
/// The Chinese pages of docs/ and their English twins keep the same outline, so a section added to one language
/// and not the other fails here, and the original lab's six metrics map to one set of PromQL in both.
/// </summary>
public sealed partial class TranslationTests
{
    private static readonly string Docs = Repository.Path("docs");

    private static readonly string[] Files =
        [.. Directory.GetFiles(Docs, "*.zh-CN.md").Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal)];

    private static readonly string[] Expected = ["concepts.zh-CN.md", "lab-guide.zh-CN.md", "runbook.zh-CN.md", "service-iptables.zh-CN.md"];

    private static readonly string[] LabMetrics = ["cpu_rate", "mem_rate", "dis_rate", "bandwidth_rate", "request_total", "request_latency_seconds"];

    public static TheoryData<string> ChinesePages => new(Files);

    [Fact]
    public void TheLabsPagesHaveChineseVersions() => Assert.All(Expected, f => Assert.Contains(f, Files));

    [Theory]
    [MemberData(nameof(ChinesePages))]
    public void EveryChinesePageHasAnEnglishTwinWithTheSameSectionsAndCodeBlocks(string file)
    {
        var twin = $"{file[..^".zh-CN.md".Length]}.md";
        Assert.True(File.Exists(Path.Combine(Docs, twin)), $"{file} has no English twin {twin}");

        var english = Read(twin);
        var chinese = Read(file);
        Assert.True(english.Headings.Select(h => h.Level).SequenceEqual(chinese.Headings.Select(h => h.Level)),
            $"{twin} and {file} differ in their sections:\n{string.Join("\n", english.Headings)}\n---\n{string.Join("\n", chinese.Headings)}");
        Assert.Equal(english.CodeBlocks, chinese.CodeBlocks);
    }

    [Fact]
    public void TheLabsMetricsMapToTheSamePromQlInEnglishAndChinese()
    {
        var english = LabMapping("metrics.md");
        var chinese = LabMapping("lab-guide.zh-CN.md");

        Assert.Equal(LabMetrics.Order(StringComparer.Ordinal), english.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(LabMetrics.Order(StringComparer.Ordinal), chinese.Keys.Order(StringComparer.Ordinal));
        Assert.All(LabMetrics, m => Assert.Equal(english[m], chinese[m]));
    }

    /// <summary>The ## and ### headings outside fenced code blocks, and how many fenced blocks there are.</summary>
    private static (List<Heading> Headings, int CodeBlocks) Read(string file)
    {
        var headings = new List<Heading>();
        var blocks = 0;
        var inBlock = false;
        foreach (var line in File.ReadLines(Path.Combine(Docs, file)))
        {
            if (line.TrimStart().StartsWith("```", StringComparison.Ordinal))
            {
                blocks += inBlock ? 0 : 1;
                inBlock = !inBlock;
            }
            else if (!inBlock && HeadingLine().Match(line) is { Success: true } m)
            {
                headings.Add(new Heading(m.Groups["marks"].Length, m.Groups["text"].Value));
            }
        }
        Assert.False(inBlock, $"{file} ends inside a code block");
        return (headings, blocks);
    }

    private static Dictionary<string, string> LabMapping(string file) =>
        LabRow().Matches(File.ReadAllText(Path.Combine(Docs, file)))
            .ToDictionary(m => m.Groups["metric"].Value, m => m.Groups["query"].Value.Trim());

    private readonly record struct Heading(int Level, string Text)
    {
        public override string ToString() => $"{new string('#', Level)} {Text}";
    }

    [GeneratedRegex(@"^(?<marks>#{2,3}) (?<text>.+)$")]
    private static partial Regex HeadingLine();

    // A row of the lab's metric table: | `cpu_rate` | what the lab showed | `PromQL` | notes |
    [GeneratedRegex(@"^\| `(?<metric>cpu_rate|mem_rate|dis_rate|bandwidth_rate|request_total|request_latency_seconds)` \|[^|\n]*\|(?<query>[^|\n]*)\|", RegexOptions.Multiline)]
    private static partial Regex LabRow();
}
