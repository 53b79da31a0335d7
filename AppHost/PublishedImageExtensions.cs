using CloudApp.AppHost;

namespace Aspire.Hosting;

#pragma warning disable ASPIRECOMPUTE003, ASPIREPIPELINES003 // Container registries and push options are experimental in Aspire 13.6.

public static class PublishedImageExtensions
{
    /// <summary>
    /// Names the image the project is published as: <paramref name="image"/> (repository and tag, never
    /// <c>latest</c>) below <paramref name="registry"/>. The AppHost's pipeline builds it with the .NET SDK's
    /// container support (<c>aspire do build-computeapi</c>) and pushes it there (<c>aspire do push</c>). The
    /// Kubernetes manifests name <paramref name="pinned"/> below the same registry: an image pushed under another
    /// tag (a test's) never reaches them. Without a registry, building works and pushing stops with Aspire's
    /// "no container registry" error; the manifests then name the image without a registry.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithPublishedImage(
        this IResourceBuilder<ProjectResource> project, ImageReference image, ImageReference pinned, string? registry)
    {
        var published = pinned with { Registry = string.IsNullOrWhiteSpace(registry) ? null : registry };
        if (published.Registry is { } endpoint)
        {
            var target = project.ApplicationBuilder.AddContainerRegistry($"{project.Resource.Name}-registry", endpoint, image.Namespace);
            project.WithContainerRegistry(target);
        }
        return project
            .WithRemoteImageName(image.Name)
            .WithRemoteImageTag(image.Tag)
            .WithKubernetes(k => k.Image = published);
    }
}
