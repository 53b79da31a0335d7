using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace CloudApp.Bench;

/// <summary>One measured line of the report: a value, its spread over the repetitions, and the target it must reach.</summary>
public sealed record Row(
    string Section,
    string Case,
    string Measure,
    double Value,
    string Unit,
    double? Spread = null,
    string? Target = null,
    bool? Met = null,
    string? Detail = null)
{
    /// <summary>Ours against a reference: the median of the ratios of pairs measured back to back (rates, higher is better).</summary>
    public static Row Ratio(string section, string name, List<double> ours, List<double> reference, string unit,
        string against, double target, string detail)
    {
        // Ratio of each pair measured back to back, then the median: drift of the machine cancels within a pair.
        var ratios = Stats.Of(ours.Zip(reference, (o, r) => o / r));
        var mine = Stats.Of(ours);
        var theirs = Stats.Of(reference);
        return new Row(section, name, $"ours / {against}", ratios.Median, "x", ratios.Spread, $">= {target:0.00}x",
            ratios.Median >= target,
            $"ours {mine.Median:G4} {unit} (±{mine.Spread:P0}), reference {theirs.Median:G4} {unit} (±{theirs.Spread:P0}); {detail}");
    }
}

public sealed record Machine(string Cpu, int Cores, string Os, string Kernel, string Runtime, string Date);

public sealed record BenchReport(Machine Machine, bool Smoke, IReadOnlyList<Row> Rows);

[JsonSerializable(typeof(BenchReport))]
[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
internal sealed partial class ReportJson : JsonSerializerContext;

public static class ReportWriter
{
    public static string Markdown(BenchReport report)
    {
        var m = report.Machine;
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"Measured {m.Date} on {m.Cpu}, {m.Cores} cores, {m.Os} (kernel {m.Kernel}), .NET {m.Runtime}{(report.Smoke ? " (smoke run: tiny sizes, not a measurement)" : "")}.");
        text.AppendLine();
        text.AppendLine("| section | case | measure | value | spread | target | met |");
        text.AppendLine("| --- | --- | --- | ---: | ---: | --- | --- |");
        foreach (var row in report.Rows)
        {
            var spread = row.Spread is { } s ? $"±{s:P0}" : "";
            var met = row.Met switch { true => "yes", false => "**no**", null => "" };
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| {row.Section} | {row.Case} | {row.Measure} | {Format(row.Value)} {row.Unit} | {spread} | {row.Target} | {met} |");
        }
        return text.ToString();
    }

    public static string Json(BenchReport report) => JsonSerializer.Serialize(report, ReportJson.Default.BenchReport);

    private static string Format(double value) => value switch
    {
        >= 1e9 => (value / 1e9).ToString("0.00", CultureInfo.InvariantCulture) + " G",
        >= 1e6 => (value / 1e6).ToString("0.00", CultureInfo.InvariantCulture) + " M",
        >= 1e4 => (value / 1e3).ToString("0.0", CultureInfo.InvariantCulture) + " k",
        >= 100 => value.ToString("0", CultureInfo.InvariantCulture),
        _ => value.ToString("0.###", CultureInfo.InvariantCulture),
    };
}
