using System.Globalization;
using System.Text.RegularExpressions;

namespace CloudApp.Bench;

/// <summary>
/// The service under wrk: full telemetry against telemetry switched off by configuration (OTEL_SDK_DISABLED),
/// and against the same kernel behind a bare minimal API, to show what the service's middleware costs.
/// </summary>
public sealed partial class HttpBenchmarks(Settings settings, TextWriter log)
{
    // A small compute request: the HTTP path, not the kernel, dominates.
    private const string ComputePath = "/api/compute/primes?size=10000";
    private const string BarePath = "/primes?size=10000";

    private static readonly Dictionary<string, string> Full = new()
    {
        // Enough queue for wrk's connections: this measures throughput, not rejection.
        ["Compute__QueueLimit"] = "256",
    };

    private static readonly Dictionary<string, string> TelemetryOff = new(Full) { ["OTEL_SDK_DISABLED"] = "true" };

    public async Task<(IReadOnlyList<Row> Rows, long PeakRss)> RunAsync()
    {
        var runs = new Dictionary<string, List<WrkResult>> { ["full"] = [], ["off"] = [], ["bare"] = [] };
        long peak = 0;
        for (var i = 0; i < (settings.Smoke ? 1 : 5); i++)
        {
            foreach (var variant in runs.Keys)
            {
                var (result, rss) = await MeasureAsync(variant);
                runs[variant].Add(result);
                if (variant == "full") peak = Math.Max(peak, rss);
                log.WriteLine($"  {variant}: {result.RequestsPerSecond:0} req/s, p99 {result.P99 * 1000:0.00} ms, {result.Errors} errors");
            }
        }

        Stats Rps(string v) => Stats.Of(runs[v].Select(r => r.RequestsPerSecond));
        Stats P99(string v) => Stats.Of(runs[v].Select(r => r.P99));
        var overhead = Stats.Of(runs["full"].Zip(runs["off"], (f, o) => f.RequestsPerSecond / o.RequestsPerSecond));
        var ceiling = Stats.Of(runs["full"].Zip(runs["bare"], (f, b) => f.RequestsPerSecond / b.RequestsPerSecond));
        var errors = runs.Values.SelectMany(r => r).Sum(r => r.Errors);
        return ([
            new("http", "telemetry on / off", "throughput ratio", overhead.Median, "x", overhead.Spread, ">= 0.90x", overhead.Median >= 0.90,
                $"{ComputePath}, wrk {WrkArguments()}"),
            new("http", "full telemetry", "throughput", Rps("full").Median, "req/s", Rps("full").Spread),
            new("http", "full telemetry", "p99 latency", P99("full").Median * 1000, "ms", P99("full").Spread),
            new("http", "telemetry off", "throughput", Rps("off").Median, "req/s", Rps("off").Spread),
            new("http", "telemetry off", "p99 latency", P99("off").Median * 1000, "ms", P99("off").Spread),
            new("http", "bare minimal API, same kernel", "throughput", Rps("bare").Median, "req/s", Rps("bare").Spread),
            new("http", "bare minimal API, same kernel", "p99 latency", P99("bare").Median * 1000, "ms", P99("bare").Spread),
            new("http", "service / bare API", "throughput ratio", ceiling.Median, "x", ceiling.Spread, ">= 0.75x", ceiling.Median >= 0.75,
                "what validation, the limiter, the metrics and the answer's JSON cost per request, telemetry on; under the same load "
                + $"p99 is {P99("full").Median * 1000:0.00} ms against {P99("bare").Median * 1000:0.00} ms"),
            new("http", "all runs", "socket errors and non-2xx", errors, "", Target: "0", Met: errors == 0),
        ], peak);
    }

    private async Task<(WrkResult Result, long Rss)> MeasureAsync(string variant)
    {
        await using var service = variant == "bare"
            ? await Service.StartAsync(settings.BareApi, "/alive", new Dictionary<string, string>())
            : await Service.StartAsync(settings.ComputeApi, "/alive", variant == "full" ? Full : TelemetryOff);
        var url = new Uri(service.Address, variant == "bare" ? BarePath : ComputePath).ToString();
        await RunWrkAsync(url, warmUp: true);
        var result = await RunWrkAsync(url, warmUp: false);
        return (result, External.ResidentBytes(service.ProcessId));
    }

    private sealed record WrkResult(double RequestsPerSecond, double P99, long Errors);

    private string[] WrkArguments(bool warmUp = false) =>
        ["-t1", "-c8", $"-d{(settings.Smoke || warmUp ? 2 : 10)}s", "--latency"];

    private async Task<WrkResult> RunWrkAsync(string url, bool warmUp)
    {
        var wrk = (await ExternalProgram.RunAsync("wrk", [.. WrkArguments(warmUp), url], External.Timeout)).EnsureSuccess();
        var rps = double.Parse(RequestsPerSecond().Match(wrk.Output).Groups[1].Value, CultureInfo.InvariantCulture);
        var p99 = Duration(P99Line().Match(wrk.Output));
        var errors = Non2xx().Match(wrk.Output) is { Success: true } n ? long.Parse(n.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
        var socket = SocketErrors().Match(wrk.Output);
        if (socket.Success)
        {
            errors += socket.Groups.Values.Skip(1).Sum(g => long.Parse(g.Value, CultureInfo.InvariantCulture));
        }
        return new WrkResult(rps, p99, errors);
    }

    private static double Duration(Match match)
    {
        var value = double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture);
        return match.Groups["unit"].Value switch
        {
            "us" => value / 1e6,
            "ms" => value / 1e3,
            "s" => value,
            "m" => value * 60,
            var unit => throw new FormatException($"unknown wrk unit {unit}"),
        };
    }

    [GeneratedRegex(@"Requests/sec:\s+([0-9.]+)")]
    private static partial Regex RequestsPerSecond();

    [GeneratedRegex(@"^\s+99%\s+(?<value>[0-9.]+)(?<unit>us|ms|s|m)\s*$", RegexOptions.Multiline)]
    private static partial Regex P99Line();

    [GeneratedRegex(@"Non-2xx or 3xx responses:\s+(\d+)")]
    private static partial Regex Non2xx();

    [GeneratedRegex(@"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")]
    private static partial Regex SocketErrors();
}
