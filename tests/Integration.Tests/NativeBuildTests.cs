using System.Text.Json;
using CloudApp.Integration.Tests.Support;

namespace CloudApp.Integration.Tests;

/// <summary>
/// The image carries the service compiled ahead of time for x86-64-v3 (AVX2) and for x86-64-v4 (AVX-512): on a
/// processor with AVX-512 it runs the second, and <c>DOTNET_EnableAVX512=0</c> keeps the first. Both compute the
/// same answers.
/// </summary>
[Collection(ContainersCollection.Name)]
public sealed class NativeBuildTests(ComputeApiImage image)
{
    private static readonly string[] Avx512Flags = ["avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"];

    [Fact]
    public async Task TheImageUsesAvx512WhereTheProcessorHasItAndBothBuildsAgree()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var flags = File.ReadLines("/proc/cpuinfo").First(l => l.StartsWith("flags", StringComparison.Ordinal)).Split(' ');
        var hostHasAvx512 = Avx512Flags.All(flags.Contains);

        var widest = await RunAsync(new Dictionary<string, string>(), cts.Token);
        var avx2 = await RunAsync(new Dictionary<string, string> { ["DOTNET_EnableAVX512"] = "0" }, cts.Token);

        Assert.Equal(hostHasAvx512 ? 512 : 256, widest.VectorWidth);
        Assert.Equal(256, avx2.VectorWidth);
        Assert.Equal(78498, widest.Primes);
        Assert.Equal(widest.Primes, avx2.Primes);
        Assert.Equal(widest.Sha256, avx2.Sha256);
        Assert.Equal(widest.MatMul, avx2.MatMul, 1e-9 * Math.Abs(widest.MatMul));
    }

    private sealed record Answers(double VectorWidth, long Primes, double MatMul, string Sha256);

    private async Task<Answers> RunAsync(IReadOnlyDictionary<string, string> environment, CancellationToken cancellationToken)
    {
        await using var service = await image.StartAsync("native", b => b.WithEnvironment(environment), cancellationToken);
        var client = service.Client;

        async Task<JsonElement> ResultAsync(string path)
        {
            using var answer = JsonDocument.Parse(await client.GetStringAsync(path, cancellationToken));
            return answer.RootElement.GetProperty("result").Clone();
        }

        var primes = await ResultAsync("/api/compute/primes?size=1000000");
        var matmul = await ResultAsync("/api/compute/matmul?size=300");
        var sha256 = await ResultAsync("/api/compute/sha256?size=3");
        var width = Exposition.Sample(await client.GetStringAsync("/metrics", cancellationToken), "compute_vector_width");
        return new Answers(width, primes.GetInt64(), matmul.GetDouble(), sha256.GetString()!);
    }
}
