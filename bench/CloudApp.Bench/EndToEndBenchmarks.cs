using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;

namespace CloudApp.Bench;

/// <summary>
/// The comparison a user makes: a job as the running service reports it (the response's <c>elapsed</c>, which
/// includes generating the input and allocating memory, as a caller waits for them) against the same work by the
/// native reference at its best in-memory speed, alternating in the same run. The HTTP round trip is shown beside.
/// </summary>
public sealed class EndToEndBenchmarks(Settings settings, TextWriter log)
{
    public async Task<IReadOnlyList<Row>> RunAsync()
    {
        await using var service = await Service.StartAsync(settings.ComputeApi, "/alive", new Dictionary<string, string>());
        using var client = new HttpClient { BaseAddress = service.Address, Timeout = TimeSpan.FromMinutes(5) };
        var rows = new List<Row>();
        foreach (var n in settings.Smoke ? [10_000_000L] : new[] { 1_000_000_000L, 10_000_000_000L })
        {
            rows.Add(await CompareAsync(client, "primes", n, 1.0, "primesieve, 1 thread", async () =>
            {
                var primesieve = await References.PrimesieveAsync(n);
                return (primesieve.Seconds, primesieve.Check);
            }, (result, count) => result.GetInt64() == (long)count!));
        }
        // A dgemm takes milliseconds, so each side of a matmul pair is its best of three: the reference's three
        // runs in one process, the service's three jobs in a row.
        const int MatMulBestOf = 3;
        foreach (var n in settings.Smoke ? [64] : new[] { 512, 1024, 2048 })
        {
            using var inputs = new References.MatMulInputs(n);
            rows.Add(await CompareAsync(client, "matmul", n, n >= 1024 ? 0.85 : 0.6, "OpenBLAS dgemm, 1 thread", async () =>
            {
                var dgemm = await References.DgemmAsync(inputs, runs: MatMulBestOf);
                return (dgemm.Seconds, dgemm.Check);
            }, (result, sum) => Math.Abs(result.GetDouble() - sum!.Value) <= 1e-6 * n * n, bestOf: MatMulBestOf));
        }
        var mib = settings.Smoke ? 4 : 1024;
        rows.Add(await CompareAsync(client, "sha256", mib, 0.95, "openssl speed -evp sha256, 1 MiB blocks", async () =>
        {
            var bytesPerSecond = await References.OpensslSpeedAsync(settings.Smoke ? 1 : 3);
            return (mib * 1048576.0 / bytesPerSecond, null);
        }, (_, _) => true));
        return rows;
    }

    /// <summary>
    /// Runs <paramref name="kernel"/> through the API (the fastest of <paramref name="bestOf"/> jobs) and the reference
    /// in turn; the ratio is the reference's time over the job's <c>elapsed</c>, per pair, then the median. The
    /// results must agree.
    /// </summary>
    private async Task<Row> CompareAsync(HttpClient client, string kernel, long size, double target, string against,
        Func<Task<(double Seconds, double? Result)>> reference, Func<JsonElement, double?, bool> agrees, int bestOf = 1)
    {
        var ours = new List<double>();
        var theirs = new List<double>();
        var roundTrips = new List<double>();
        // Five pairs: on a shared machine either side can lose 10-15% for a few seconds, and the median of five
        // pairs is what such a dip does not move.
        for (var i = -1; i < (settings.Smoke ? 1 : 5); i++)
        {
            JsonElement body = default;
            var elapsed = double.PositiveInfinity;
            var roundTrip = double.PositiveInfinity;
            for (var job = 0; job < bestOf; job++)
            {
                var trip = await Stats.SecondsAsync(async () => body = await client.GetFromJsonAsync<JsonElement>(
                    $"/api/compute/{kernel}?size={size.ToString(CultureInfo.InvariantCulture)}"));
                elapsed = Math.Min(elapsed, body.GetProperty("elapsed").GetDouble());
                roundTrip = Math.Min(roundTrip, trip);
            }
            var (seconds, expected) = await reference();
            if (!agrees(body.GetProperty("result"), expected))
            {
                throw new InvalidOperationException($"{kernel} {size}: the service answered {body.GetProperty("result")}, the reference {expected}");
            }
            if (i < 0) continue; // warm-up: the first job of a kernel in a fresh process
            ours.Add(1 / elapsed);
            theirs.Add(1 / seconds);
            roundTrips.Add(roundTrip);
            var best = bestOf > 1 ? $" (best of {bestOf})" : "";
            log.WriteLine($"  {kernel} {size}: job {elapsed * 1000:0.0} ms (round trip {roundTrip * 1000:0.0} ms), reference {seconds * 1000:0.0} ms{best}");
        }
        var row = Row.Ratio("end to end", $"{kernel} {SizeText(kernel, size)}", ours, theirs, "jobs/s", against, target,
            $"fastest job {1 / ours.Max() * 1000:0.0} ms, fastest reference {1 / theirs.Max() * 1000:0.0} ms, median HTTP round trip {Stats.Of(roundTrips).Median * 1000:0.0} ms");
        return row;
    }

    private static string SizeText(string kernel, long size) => kernel switch
    {
        "primes" => $"n={size:E0}",
        "matmul" => $"n={size}",
        _ => $"{size} MiB",
    };
}
