using System.Text.Json;

namespace CloudApp.Bench.Tests;

/// <summary>
/// Benchmarks are not part of the tests (they measure, tests assert), but the benchmark command must keep working:
/// this runs it end to end on tiny sizes and checks that every part reported.
/// </summary>
public sealed class BenchSmokeTests
{
    [Fact]
    public async Task TheBenchmarkCommandRunsEndToEndAndReportsEveryPart()
    {
        var root = RepositoryRoot.Path;
        var output = Path.Combine(Path.GetTempPath(), $"cloudapp-bench-smoke-{Guid.NewGuid():N}");
        try
        {
            var result = await ExternalProgram.RunAsync("bash", [Path.Combine(root, "bench", "run.sh"), "--smoke", "--output", output],
                TimeSpan.FromMinutes(10));
            Assert.True(result.ExitCode == 0, $"bench/run.sh --smoke failed:\n{result}");

            var report = JsonSerializer.Deserialize<JsonElement>(await File.ReadAllTextAsync(Path.Combine(output, "smoke.json")));
            Assert.True(report.GetProperty("smoke").GetBoolean());
            Assert.False(string.IsNullOrEmpty(report.GetProperty("machine").GetProperty("cpu").GetString()));
            var rows = report.GetProperty("rows").EnumerateArray().ToList();
            var sections = rows.Select(r => r.GetProperty("section").GetString()).ToHashSet();
            Assert.Superset(new HashSet<string?> { "end to end", "kernels", "http", "scrape", "footprint" }, sections);
            Assert.All(rows, r => Assert.True(double.IsFinite(r.GetProperty("value").GetDouble()), r.ToString()));
            // Every kernel was compared with its reference tool on the same input, alone and through the service.
            foreach (var section in new[] { "end to end", "kernels" })
            {
                var kernels = rows.Where(r => r.GetProperty("section").GetString() == section).Select(r => r.GetProperty("case").GetString()!).ToList();
                Assert.Contains(kernels, k => k.StartsWith("primes", StringComparison.Ordinal));
                Assert.Contains(kernels, k => k.StartsWith("matmul", StringComparison.Ordinal));
                Assert.Contains(kernels, k => k.StartsWith("sha256", StringComparison.Ordinal));
            }
            Assert.True(File.Exists(Path.Combine(output, "smoke.md")));
        }
        finally
        {
            if (Directory.Exists(output)) Directory.Delete(output, recursive: true);
        }
    }
}
