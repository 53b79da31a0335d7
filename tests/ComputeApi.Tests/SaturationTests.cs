using System.Diagnostics;
using System.Net;

namespace CloudApp.ComputeApi.Tests;

/// <summary>
/// A service that computes must still be scrapable: with every compute slot and the whole queue taken, the
/// scrape and liveness endpoints must answer at once, or Prometheus reports the target down on a timeout.
/// </summary>
public class SaturationTests
{
    [Fact]
    public async Task MetricsAndLivenessAnswerWithinASecondWhileComputeIsSaturatedAndTheNextJobGets429()
    {
        await using var app = ComputeApiFactory.CreateOnKestrel(
            ("Compute:MaxConcurrency", "2"), ("Compute:QueueLimit", "2"), ("Compute:RequestTimeout", "00:02:00"),
            ("Compute:RetryAfter", "00:00:03"), ComputeApiFactory.AllowLongJobs);
        using var client = app.CreateClient();
        using var stop = new CancellationTokenSource();

        var jobs = Enumerable.Range(0, 4)
            .Select(_ => client.GetAsync(ComputeApiFactory.LongJob, stop.Token))
            .ToList();
        await ComputeApiTests.Eventually(client, m =>
            Exposition.Sample(m, "compute_jobs_active") == 2 && Exposition.Sample(m, "compute_jobs_waiting") == 2);

        for (var i = 0; i < 5; i++)
        {
            var scrape = Stopwatch.StartNew();
            using var metrics = await client.GetAsync("/metrics");
            Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
            Assert.InRange(scrape.ElapsedMilliseconds, 0, 1_000);

            var probe = Stopwatch.StartNew();
            using var alive = await client.GetAsync("/alive");
            Assert.Equal(HttpStatusCode.OK, alive.StatusCode);
            Assert.InRange(probe.ElapsedMilliseconds, 0, 1_000);
        }

        using var rejected = await client.GetAsync("/api/compute/sha256?size=1");
        var problem = await ComputeApiTests.ReadProblem(rejected);
        Assert.Equal(HttpStatusCode.TooManyRequests, rejected.StatusCode);
        Assert.Equal("3", rejected.Headers.GetValues("Retry-After").Single());
        Assert.Equal(2, problem.GetProperty("concurrencyLimit").GetInt32());
        Assert.Equal(2, problem.GetProperty("queueLimit").GetInt32());

        await stop.CancelAsync();
        await Task.WhenAll(jobs.Select(j => j.ContinueWith(_ => { }, TaskScheduler.Default)));
        await ComputeApiTests.Eventually(client, m =>
            Exposition.Sample(m, "compute_jobs_active") == 0
            && Exposition.Sample(m, "compute_jobs_waiting") == 0
            && Exposition.Sample(m, "compute_rejections_total", ("compute_rejection_reason", "queue_full")) == 1);
    }
}
