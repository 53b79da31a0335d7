namespace CloudApp.ComputeApi.Kernels;

/// <summary>
/// The deterministic inputs the kernels generate: every value a pure function of a seed and its position, so any
/// replica, benchmark or reference tool computes the same data and results can be compared exactly.
/// </summary>
internal static class SeededData
{
    /// <summary>
    /// SplitMix64 (Steele, Lea and Flood): 64 well-mixed bits for the <paramref name="index"/>-th value of the stream
    /// <paramref name="seed"/>, computed directly rather than by stepping, so data can be generated in any order.
    /// </summary>
    public static ulong SplitMix64(ulong seed, ulong index)
    {
        var z = seed + ((index + 1) * 0x9E3779B97F4A7C15UL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
