using System.Text.Json;
using CloudApp.ComputeApi.Apis;
using CloudApp.ComputeApi.Kernels;

namespace CloudApp.ComputeApi.Tests;

/// <summary>
/// A kernel's result goes into the answer through the generated JSON context alone, the path the trimmed service
/// takes: whatever kind a kernel returns, no type needs naming anywhere else.
/// </summary>
public sealed class KernelResultTests
{
    [Theory]
    [MemberData(nameof(Results))]
    public void EveryKindOfResultIsWrittenAsAJsonNumberOrStringAndReadBack(KernelResult result, string json)
    {
        var answer = new ComputeResponse("k", 1, result, 0.5, new WorkDone(1, "units"));

        var written = JsonSerializer.Serialize(answer, ContractsJsonContext.Default.ComputeResponse);

        Assert.Contains($"\"result\":{json},", written, StringComparison.Ordinal);
        Assert.Equal(result, JsonSerializer.Deserialize(written, ContractsJsonContext.Default.ComputeResponse)!.Result);
    }

    public static TheoryData<KernelResult, string> Results() => new()
    {
        { 9_007_199_254_740_993L, "9007199254740993" },
        { -139.63455191902614, "-139.63455191902614" },
        { "13293873a91aa73b", "\"13293873a91aa73b\"" },
    };

    [Fact]
    public void AResultReadAsAnotherKindSaysWhatItIs()
    {
        KernelResult digest = "ab";

        var wrong = Assert.Throws<InvalidCastException>(() => (long)digest);

        Assert.Equal("The result ab is not a whole number.", wrong.Message);
        Assert.Equal("ab", (string)digest);
    }
}
