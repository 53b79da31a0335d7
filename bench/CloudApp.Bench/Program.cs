using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using CloudApp.Bench;

var smoke = new Option<bool>("--smoke") { Description = "Tiny sizes, one repetition: checks that the suite runs, measures nothing." };
var output = new Option<DirectoryInfo>("--output")
{
    Description = "Folder for the results (JSON with the machine description, and a Markdown table).",
    DefaultValueFactory = _ => new DirectoryInfo(Path.Combine("bench", "results")),
};
var only = new Option<string[]>("--only")
{
    Description = "Run only these parts: e2e, kernels, http, scrape, footprint.",
    AllowMultipleArgumentsPerToken = true,
};
var computeApi = new Option<FileInfo>("--computeapi") { Description = "The ComputeApi to measure: a published executable, or a built ComputeApi.dll.", Required = true };
var bareApi = new Option<FileInfo>("--bareapi") { Description = "The built BareApi.dll.", Required = true };

var root = new RootCommand("CloudApp benchmarks: ratios against references measured side by side in the same run.")
{
    smoke, output, only, computeApi, bareApi,
};
root.SetAction(async (parse, _) =>
{
    var settings = new Settings(parse.GetValue(smoke), parse.GetValue(computeApi)!.FullName, parse.GetValue(bareApi)!.FullName);
    var parts = parse.GetValue(only) is { Length: > 0 } selected ? selected.ToHashSet(StringComparer.OrdinalIgnoreCase) : null;
    bool Runs(string part) => parts is null || parts.Contains(part);
    var log = Console.Out;
    var rows = new List<Row>();

    if (Runs("e2e"))
    {
        log.WriteLine("jobs through the running service against native references (one thread each)");
        rows.AddRange(await new EndToEndBenchmarks(settings, log).RunAsync());
    }
    if (Runs("kernels"))
    {
        log.WriteLine("kernels alone (no service, input generated beforehand) against native references");
        rows.AddRange(await new KernelBenchmarks(settings, log).RunAsync());
    }
    long httpPeakRss = 0;
    if (Runs("http"))
    {
        log.WriteLine("HTTP: full telemetry, telemetry off, bare minimal API (wrk)");
        var (httpRows, peak) = await new HttpBenchmarks(settings, log).RunAsync();
        rows.AddRange(httpRows);
        httpPeakRss = peak;
    }
    var service = new ServiceBenchmarks(settings, log);
    if (Runs("scrape"))
    {
        log.WriteLine("scraping /metrics while every compute slot is busy and the queue is full");
        rows.AddRange(await service.ScrapeUnderSaturationAsync());
    }
    if (Runs("footprint"))
    {
        log.WriteLine("footprint");
        rows.AddRange(await service.FootprintAsync());
        if (httpPeakRss > 0) rows.Add(new("footprint", "after the wrk run", "resident memory", httpPeakRss / 1048576.0, "MiB"));
    }

    var report = new BenchReport(DescribeMachine(), settings.Smoke, rows);
    var folder = parse.GetValue(output)!;
    folder.Create();
    var stamp = DateTime.UtcNow.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
    var name = settings.Smoke ? "smoke" : stamp;
    await File.WriteAllTextAsync(Path.Combine(folder.FullName, $"{name}.json"), ReportWriter.Json(report));
    var markdown = ReportWriter.Markdown(report);
    await File.WriteAllTextAsync(Path.Combine(folder.FullName, settings.Smoke ? "smoke.md" : "latest.md"), markdown);
    log.WriteLine();
    log.WriteLine(markdown);
    return 0;
});
return await root.Parse(args).InvokeAsync();

static Machine DescribeMachine()
{
    static string? FirstValue(string file, string key) => File.Exists(file)
        ? File.ReadLines(file).FirstOrDefault(l => l.StartsWith(key, StringComparison.Ordinal))?.Split(key is "model name" ? ':' : '=', 2)[1].Trim().Trim('"')
        : null;
    return new Machine(
        FirstValue("/proc/cpuinfo", "model name") ?? RuntimeInformation.ProcessArchitecture.ToString(),
        Environment.ProcessorCount,
        FirstValue("/etc/os-release", "PRETTY_NAME") ?? RuntimeInformation.OSDescription,
        Environment.OSVersion.Version.ToString(),
        Environment.Version.ToString(),
        DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture));
}
