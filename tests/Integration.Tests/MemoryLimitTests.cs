using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CloudApp.Integration.Tests.Support;
using DotNet.Testcontainers.Containers;

namespace CloudApp.Integration.Tests;

/// <summary>
/// The published image under a container memory limit. A matmul job's matrices live outside the GC heap, where the
/// GC's limit (75% of the container's) does not reach: the service keeps them under that limit itself, so a job
/// too large for the container is answered with a 503 while the process, and every other job, lives on, instead
/// of the kernel's OOM killer ending it. docs/concepts.md shows the same run by hand.
/// </summary>
[Collection(ContainersCollection.Name)]
public sealed class MemoryLimitTests(ComputeApiImage image)
{
    [Theory]
    [InlineData(64, HttpStatusCode.ServiceUnavailable)]
    [InlineData(128, HttpStatusCode.OK)]
    public async Task AMatMulJobTooLargeForTheContainerIsRefusedAndTheProcessLivesOn(int limitMiB, HttpStatusCode expected)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await using var service = await image.StartAsync($"memory-{limitMiB}", b => b.WithCreateParameterModifier(create =>
        {
            create.HostConfig ??= new();
            create.HostConfig.Memory = limitMiB * 1048576L;
            create.HostConfig.MemorySwap = limitMiB * 1048576L; // no swap: the limit is the memory
        }), cts.Token);
        var client = service.Client;

        // A small job fits either way; a job of order 2048 needs 32 MiB for C, on top of a process of about 40.
        using (var small = await client.GetAsync("/api/compute/matmul?size=512", cts.Token))
        {
            Assert.Equal(HttpStatusCode.OK, small.StatusCode);
        }
        using var large = await client.GetAsync("/api/compute/matmul?size=2048", cts.Token);
        Assert.Equal(expected, large.StatusCode);
        if (expected == HttpStatusCode.ServiceUnavailable)
        {
            var problem = await large.Content.ReadFromJsonAsync<JsonElement>(cts.Token);
            Assert.Equal("application/problem+json", large.Content.Headers.ContentType?.MediaType);
            Assert.NotNull(large.Headers.RetryAfter);
            // The GC's own limit in a container: 75% of the memory limit.
            Assert.Equal(limitMiB * 1048576L * 3 / 4, problem.GetProperty("limitBytes").GetInt64());
            Assert.True(problem.GetProperty("requiredBytes").GetInt64() >= 2048L * 2048 * sizeof(double));
        }

        // The same process still serves: nothing was killed, nothing restarted.
        using var health = await client.GetAsync("/health", cts.Token);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal(TestcontainersStates.Running, service.Container.State);
        var refusals = Exposition.Sample(await client.GetStringAsync("/metrics", cts.Token),
            "compute_rejections_total", ("compute_rejection_reason", "insufficient_memory"));
        Assert.Equal(expected == HttpStatusCode.OK ? 0 : 1, double.IsNaN(refusals) ? 0 : refusals);
    }
}
