using System.Net.Http.Json;
using System.Text.Json;

namespace CloudApp.Integration.Tests.Support;

/// <summary>The parts of Prometheus' HTTP API the tests read.</summary>
public sealed class PrometheusApi(HttpClient http)
{
    public sealed record Target(string Job, string Instance, string? Replica, string Health, string LastError, Uri ScrapeUrl);

    public async Task<IReadOnlyList<Target>> TargetsAsync(string job, CancellationToken cancellationToken)
    {
        var body = await http.GetFromJsonAsync<JsonElement>("/api/v1/targets?state=active", cancellationToken);
        return [.. body.GetProperty("data").GetProperty("activeTargets").EnumerateArray()
            .Select(t =>
            {
                var labels = t.GetProperty("labels");
                return new Target(
                    labels.GetProperty("job").GetString()!,
                    labels.GetProperty("instance").GetString()!,
                    labels.TryGetProperty("replica", out var replica) ? replica.GetString() : null,
                    t.GetProperty("health").GetString()!,
                    t.GetProperty("lastError").GetString() ?? "",
                    new Uri(t.GetProperty("scrapeUrl").GetString()!));
            })
            .Where(t => t.Job == job)];
    }

    /// <summary>Evaluates an instant query; returns (labels, value) per series.</summary>
    public async Task<IReadOnlyList<(IReadOnlyDictionary<string, string> Labels, double Value)>> QueryAsync(string promql, CancellationToken cancellationToken)
    {
        var body = await http.GetFromJsonAsync<JsonElement>($"/api/v1/query?query={Uri.EscapeDataString(promql)}", cancellationToken);
        if (body.GetProperty("status").GetString() != "success")
        {
            throw new InvalidOperationException($"query failed: {promql}: {body}");
        }
        return [.. body.GetProperty("data").GetProperty("result").EnumerateArray()
            .Select(r => (
                (IReadOnlyDictionary<string, string>)r.GetProperty("metric").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!),
                double.Parse(r.GetProperty("value")[1].GetString()!, System.Globalization.CultureInfo.InvariantCulture)))];
    }

    /// <summary>Polls <paramref name="read"/> until <paramref name="done"/> holds; fails with the last value seen.</summary>
    public static async Task<T> EventuallyAsync<T>(Func<CancellationToken, Task<T>> read, Func<T, bool> done, TimeSpan within, string what)
    {
        using var timeout = new CancellationTokenSource(within);
        T last = default!;
        try
        {
            while (true)
            {
                last = await read(timeout.Token);
                if (done(last)) return last;
                await Task.Delay(TimeSpan.FromSeconds(1), timeout.Token);
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            throw new TimeoutException($"{what} did not happen within {within.TotalSeconds:0} s; last seen: {Describe(last)}");
        }
    }

    private static string Describe<T>(T value) =>
        value is System.Collections.IEnumerable items and not string
            ? "[" + string.Join("; ", items.Cast<object>()) + "]"
            : value?.ToString() ?? "nothing";
}
