using CloudApp.AppHost.Kubernetes;

namespace Aspire.Hosting;

public static class KubernetesResourceBuilderExtensions
{
    /// <summary>
    /// Describes how the resource runs in Kubernetes (see <see cref="KubernetesWorkload"/>). Resources without
    /// it are not published as workloads.
    /// </summary>
    public static IResourceBuilder<T> WithKubernetes<T>(this IResourceBuilder<T> builder, Action<KubernetesWorkload> configure)
        where T : IResourceWithEndpoints
    {
        var annotation = builder.Resource.Annotations.OfType<KubernetesWorkloadAnnotation>().SingleOrDefault();
        if (annotation is null)
        {
            annotation = new KubernetesWorkloadAnnotation(new KubernetesWorkload());
            builder.WithAnnotation(annotation);
        }
        configure(annotation.Workload);
        return builder;
    }
}
