using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CloudApp.Integration.Tests.Support;
using DotNet.Testcontainers.Containers;

namespace CloudApp.Integration.Tests;

/// <summary>
/// The published image under a container memory limit, with each native build. A matmul job's matrices live outside
/// the GC heap, where the GC's limit does not reach: the service admits them against the memory the container is
/// charged (the cgroup's working set, which is what the OOM killer acts on) and 75% of the container's limit, so a
/// job too large for the container is answered with a 503 while the process, and every other job, lives on.
/// The expectations follow from the sizes alone (order 2048 needs 32 MiB for C, order 1024 needs 8 MiB) and hold
/// whatever this machine's idle footprint: they leave the service about 20 MiB of its own. docs/concepts.md shows
/// the same run by hand.
/// </summary>
[Collection(ContainersCollection.Name)]
public sealed class MemoryLimitTests(ComputeApiImage image)
{
    [Theory]
    [InlineData(64, true)]
    [InlineData(64, false)]
    [InlineData(96, true)]
    [InlineData(96, false)]
    public async Task AMatMulJobTooLargeForTheContainerIsRefusedAndTheProcessLivesOn(int limitMiB, bool avx512)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var limitBytes = limitMiB * 1048576L;
        await using var service = await image.StartAsync($"memory-{limitMiB}", b => b
            .WithEnvironment(avx512 ? [] : new Dictionary<string, string> { ["DOTNET_EnableAVX512"] = "0" })
            .WithCreateParameterModifier(create =>
            {
                create.HostConfig ??= new();
                create.HostConfig.Memory = limitBytes;
                create.HostConfig.MemorySwap = limitBytes; // no swap: the limit is the memory
            }), cts.Token);
        var client = service.Client;

        // The service says how it admits working memory: by its cgroup, against 75% of the container's limit.
        var (stdout, _) = await service.Container.GetLogsAsync(ct: cts.Token);
        Assert.Matches($@"measured as cgroup v[12] \(.*\), stays within {limitMiB * 3 / 4} MiB \(75% of {limitMiB} MiB\)", stdout);

        foreach (var size in new[] { 512, 1024 })
        {
            using var fits = await client.GetAsync($"/api/compute/matmul?size={size}", cts.Token);
            Assert.True(fits.StatusCode == HttpStatusCode.OK, $"matmul {size} in {limitMiB} MiB: {await fits.Content.ReadAsStringAsync(cts.Token)}");
        }
        var refusedExpected = limitMiB < 96;
        using var large = await client.GetAsync("/api/compute/matmul?size=2048", cts.Token);
        Assert.True(large.StatusCode == (refusedExpected ? HttpStatusCode.ServiceUnavailable : HttpStatusCode.OK),
            $"matmul 2048 in {limitMiB} MiB: {(int)large.StatusCode} {await large.Content.ReadAsStringAsync(cts.Token)}");
        if (refusedExpected)
        {
            var problem = await large.Content.ReadFromJsonAsync<JsonElement>(cts.Token);
            Assert.Equal("application/problem+json", large.Content.Headers.ContentType?.MediaType);
            Assert.NotNull(large.Headers.RetryAfter);
            Assert.Equal(limitBytes * 3 / 4, problem.GetProperty("limitBytes").GetInt64());
            Assert.True(problem.GetProperty("requiredBytes").GetInt64() >= 2048L * 2048 * sizeof(double));
            Assert.InRange(problem.GetProperty("usedBytes").GetInt64(), 1, limitBytes);
        }

        // The same process still serves: nothing was killed, nothing restarted.
        using var health = await client.GetAsync("/health", cts.Token);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal(TestcontainersStates.Running, service.Container.State);
        var refusals = Exposition.Sample(await client.GetStringAsync("/metrics", cts.Token),
            "compute_rejections_total", ("compute_rejection_reason", "insufficient_memory"));
        Assert.Equal(refusedExpected ? 1 : 0, double.IsNaN(refusals) ? 0 : refusals);
    }
}
