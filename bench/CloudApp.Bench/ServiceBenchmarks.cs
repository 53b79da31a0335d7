using System.Diagnostics;

namespace CloudApp.Bench;

/// <summary>
/// What the lab got wrong: /metrics must answer promptly while every compute slot is busy and the queue is full.
/// Also the footprint: start-up time to ready, resident memory idle and under load.
/// </summary>
public sealed class ServiceBenchmarks(Settings settings, TextWriter log)
{
    // Runs for minutes: keeps a slot or a queue place taken until the benchmark lets go.
    private const string LongJob = "/api/compute/primes?size=1000000000000";

    private static readonly Dictionary<string, string> Saturable = new()
    {
        ["Compute__MaxConcurrency"] = "2",
        ["Compute__QueueLimit"] = "8",
        ["Compute__RequestTimeout"] = "00:10:00",
        ["Compute__Primes__MaxSize"] = "1000000000000",
    };

    public async Task<IReadOnlyList<Row>> ScrapeUnderSaturationAsync()
    {
        await using var service = await Service.StartAsync(settings.ComputeApi, "/alive", Saturable);
        using var load = new HttpClient { BaseAddress = service.Address, Timeout = Timeout.InfiniteTimeSpan };
        using var stop = new CancellationTokenSource();
        // 2 running + 8 waiting fill the service; two more keep knocking and get 429 (and must not hurt the scrape).
        var jobs = Enumerable.Range(0, 12).Select(_ => Ignore(load.GetAsync(LongJob, stop.Token))).ToList();

        using var scraper = new HttpClient { BaseAddress = service.Address, Timeout = TimeSpan.FromSeconds(4) };
        await WaitSaturatedAsync(scraper);

        var latencies = new List<double>();
        var failures = 0;
        long bytes = 0;
        var series = 0;
        long peakRss = 0;
        var scrapes = settings.Smoke ? 20 : 300;
        for (var i = 0; i < scrapes; i++)
        {
            var start = Stopwatch.GetTimestamp();
            try
            {
                // As Prometheus does: a fresh scrape every interval over a kept-alive connection.
                var body = await scraper.GetStringAsync("/metrics");
                latencies.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                bytes = body.Length;
                series = body.Split('\n').Count(l => l.Length > 0 && l[0] != '#');
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                failures++;
            }
            peakRss = Math.Max(peakRss, External.ResidentBytes(service.ProcessId));
            await Task.Delay(50);
        }
        var saturated = await ScrapeValue(scraper, "compute_jobs_active") >= 2 && await ScrapeValue(scraper, "compute_jobs_waiting") >= 8;
        await stop.CancelAsync();
        await Task.WhenAll(jobs);

        var p99 = Stats.Quantile(latencies, 0.99);
        log.WriteLine($"  {scrapes} scrapes under saturation: p50 {Stats.Quantile(latencies, 0.5):0.0} ms, p99 {p99:0.0} ms, {failures} failures");
        return
        [
            new("scrape", "every slot busy, queue full", "/metrics p99", p99, "ms", null, "<= 50 ms", p99 <= 50 && saturated,
                $"{scrapes} scrapes, p50 {Stats.Quantile(latencies, 0.5):0.0} ms, max {latencies.Max():0.0} ms; still saturated at the end: {saturated}"),
            new("scrape", "every slot busy, queue full", "failed scrapes", failures, "", null, "0", failures == 0),
            new("scrape", "exposition", "size", bytes, "bytes"),
            new("scrape", "exposition", "series", series, ""),
            new("footprint", "under saturation", "resident memory", peakRss / 1048576.0, "MiB"),
        ];
    }

    public async Task<IReadOnlyList<Row>> FootprintAsync()
    {
        var rows = new List<Row>();
        // On linux-x64 the published entry point is the x86-64-v3 build and starts the x86-64-v4 build where the
        // processor has AVX-512; DOTNET_EnableAVX512=0 keeps the first. Both are measured as they start in the image.
        var builds = settings.ComputeApi.EndsWith(".dll", StringComparison.OrdinalIgnoreCase)
            ? new[] { ("JIT", new Dictionary<string, string>()) }
            : [("as started", new Dictionary<string, string>()), ("x86-64-v3 build", new Dictionary<string, string> { ["DOTNET_EnableAVX512"] = "0" })];
        foreach (var (build, environment) in builds)
        {
            var starts = new List<double>();
            var idle = new List<double>();
            var executable = "";
            for (var i = 0; i < (settings.Smoke ? 1 : 9); i++)
            {
                await using var service = await Service.StartAsync(settings.ComputeApi, "/health", environment);
                starts.Add(service.StartSeconds);
                await Task.Delay(TimeSpan.FromSeconds(settings.Smoke ? 1 : 3));
                idle.Add(External.ResidentBytes(service.ProcessId) / 1048576.0);
                executable = service.Executable;
            }
            var start = Stats.Of(starts);
            var rss = Stats.Of(idle);
            var name = build == "as started" ? executable : build;
            log.WriteLine($"  {name}: start to ready {start.Median * 1000:0} ms, idle RSS {rss.Median:0.0} MiB");
            rows.Add(new("footprint", $"{name}: process start to /health 200", "time", start.Median * 1000, "ms", start.Spread, "<= 150 ms", start.Median <= 0.15));
            rows.Add(new("footprint", $"{name}: idle after start", "resident memory", rss.Median, "MiB", rss.Spread, "<= 40 MiB", rss.Median <= 40));
        }
        if (!settings.ComputeApi.EndsWith(".dll", StringComparison.OrdinalIgnoreCase))
        {
            // The published folder is the image's application layer; the base image comes on top.
            var folder = new DirectoryInfo(Path.GetDirectoryName(settings.ComputeApi)!);
            var bytes = folder.EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);
            rows.Add(new("footprint", "published service (image layer, base not included)", "size", bytes / 1e6, "MB"));
        }
        return rows;
    }

    private static async Task WaitSaturatedAsync(HttpClient client)
    {
        var deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency * 60;
        while (!(await ScrapeValue(client, "compute_jobs_active") >= 2 && await ScrapeValue(client, "compute_jobs_waiting") >= 8))
        {
            if (Stopwatch.GetTimestamp() > deadline) throw new InvalidOperationException("the service never got saturated");
            await Task.Delay(100);
        }
    }

    private static async Task<double> ScrapeValue(HttpClient client, string family)
    {
        var body = await client.GetStringAsync("/metrics");
        return body.Split('\n')
            .Where(l => l.StartsWith(family + "{", StringComparison.Ordinal) || l.StartsWith(family + " ", StringComparison.Ordinal))
            .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture));
    }

    private static async Task Ignore(Task<HttpResponseMessage> request)
    {
        try
        {
            using var response = await request;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or OperationCanceledException)
        {
        }
    }
}
